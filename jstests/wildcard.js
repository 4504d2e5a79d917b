// wildcard.js -- wildcard indexes as MongoDB's documentation shows them ("Create a Wildcard
// Index on a Single Field", "Include or Exclude Fields from a Wildcard Index") and the
// restrictions page (queries the index cannot answer).

const wdb = db.getSiblingDB('jswildcard');
wdb.dropDatabase();

wdb.products.insertMany([
    {
        product_name: 'Spy Coat',
        product_attributes: {
            material: ['Tweed', 'Wool', 'Leather'],
            size: {length: 72, units: 'inches'},
        },
    },
    {
        product_name: 'Spy Pen',
        product_attributes: {
            colors: ['Blue', 'Black'],
            secret_feature: {name: 'laser', power: '1000', units: 'watts'},
        },
    },
]);
assertEq(wdb.products.createIndex({'product_attributes.$**': 1}), 'product_attributes.$**_1',
         'createIndex name');

function ixscan(plan) {
    for (let s = plan; s; s = s.inputStage)
        if (s.stage === 'IXSCAN')
            return s;
    return null;
}

const long = wdb.products.find({'product_attributes.size.length': {$gt: 60}}).toArray();
assertEq(long.length, 1, 'size.length > 60');
assertEq(long[0].product_name, 'Spy Coat', 'size.length > 60 finds the coat');
let ex = wdb.products.find({'product_attributes.size.length': {$gt: 60}}).explain();
let ix = ixscan(ex.queryPlanner.winningPlan);
assertTrue(ix !== null, 'an IXSCAN answers size.length');
assertEq(JSON.stringify(ix.keyPattern),
         JSON.stringify({$_path: 1, 'product_attributes.size.length': 1}), 'expanded key pattern');
assertEq(JSON.stringify(ix.indexBounds.$_path),
         JSON.stringify(['["product_attributes.size.length", "product_attributes.size.length"]']),
         '$_path bounds');

const leather = wdb.products.find({'product_attributes.material': 'Leather'}).toArray();
assertEq(leather.length, 1, 'material Leather');
ix = ixscan(wdb.products.find({'product_attributes.material': 'Leather'}).explain()
                .queryPlanner.winningPlan);
assertEq(ix.isMultiKey, true, 'material is an array path');

const laser = wdb.products
                  .find({'product_attributes.secret_feature.name': 'laser'},
                        {_id: 0, 'product_attributes.secret_feature.name': 1})
                  .toArray();
assertEq(JSON.stringify(laser),
         JSON.stringify([{product_attributes: {secret_feature: {name: 'laser'}}}]), 'laser');

// the restrictions: no index for a missing field or an equality to a document
ex = wdb.products.find({'product_attributes': {$exists: false}}).explain();
assertEq(ixscan(ex.queryPlanner.winningPlan), null, '$exists: false cannot use it');
ex = wdb.products.find({'product_attributes.size': {length: 72, units: 'inches'}}).explain();
assertEq(ixscan(ex.queryPlanner.winningPlan), null, 'document equality cannot use it');
assertFailedWithCode(
    () => wdb.products.find({'product_attributes': {$exists: false}})
              .hint('product_attributes.$**_1')
              .toArray(),
    291, 'hinting it for $exists: false');

// wildcardProjection: every field but some
wdb.products.createIndex(
    {'$**': 1},
    {wildcardProjection: {'product_attributes.colors': 0, 'product_attributes.secret_feature': 0}});
const idx = wdb.products.getIndexes().filter((i) => i.name === '$**_1')[0];
assertEq(JSON.stringify(idx.wildcardProjection),
         JSON.stringify({'product_attributes.colors': 0, 'product_attributes.secret_feature': 0}),
         'listIndexes shows the projection');
ex = wdb.products.find({product_name: 'Spy Pen'}).explain();
assertEq(ixscan(ex.queryPlanner.winningPlan).indexName, '$**_1', 'product_name through $**');
assertEq(wdb.products.find({product_name: 'Spy Pen'}).itcount(), 1, 'Spy Pen');

// options a wildcard index refuses
assertFailedWithCode(() => wdb.products.createIndex({'$**': 1}, {unique: true, name: 'u'}), 67,
                     'unique');
assertFailedWithCode(() => wdb.products.createIndex({'a.$**': 1}, {wildcardProjection: {a: 1}}),
                     9, 'wildcardProjection with a.$**');
