// clustered.js -- clustered collections as MongoDB's documentation shows them ("Clustered
// Collections": create with runCommand and createCollection, a date cluster key, range queries
// on _id answered by a bounded CLUSTERED_IXSCAN).

const cdb = db.getSiblingDB('jsclustered');
cdb.dropDatabase();

assertWorked(cdb.runCommand({
    create: 'products',
    clusteredIndex: {key: {_id: 1}, unique: true, name: 'products clustered key'},
}));
assertWorked(cdb.createCollection(
    'stocks', {clusteredIndex: {key: {_id: 1}, unique: true, name: 'stocks clustered key'}}));

const info = cdb.getCollectionInfos({name: 'products'})[0];
assertEq(JSON.stringify(info.options.clusteredIndex),
         JSON.stringify({v: 2, key: {_id: 1}, name: 'products clustered key', unique: true}),
         'listCollections clusteredIndex');
const ix = cdb.products.getIndexes()[0];
assertEq(ix.clustered, true, 'listIndexes marks the cluster key');
assertEq(ix.name, 'products clustered key', 'cluster key name');

// a date cluster key
assertWorked(cdb.createCollection(
    'orders', {clusteredIndex: {key: {_id: 1}, unique: true, name: 'orders clustered key'}}));
cdb.orders.insertMany([
    {_id: new Date('2022-03-18T12:50:00Z'), quantity: 1, totalOrderPrice: 10},
    {_id: new Date('2022-03-18T12:45:20Z'), quantity: 50, totalOrderPrice: 500},
    {_id: new Date('2022-03-18T12:47:00Z'), quantity: 5, totalOrderPrice: 50},
]);
const later = cdb.orders.find({_id: {$gt: new Date('2022-03-18T12:47:00.000Z')}}).toArray();
assertEq(later.length, 1, 'orders after 12:47');
assertEq(later[0].quantity, 1, 'the 12:50 order');
// stored in _id order
assertEq(JSON.stringify(cdb.orders.find().toArray().map((d) => d.quantity)),
         JSON.stringify([50, 5, 1]), 'collection scan in cluster key order');
const plan =
    cdb.orders.find({_id: {$gt: new Date('2022-03-18T12:47:00.000Z')}}).explain().queryPlanner
        .winningPlan;
assertEq(plan.stage, 'CLUSTERED_IXSCAN', 'bounded scan of the cluster key');
assertEq(plan.minRecord.toISOString(), '2022-03-18T12:47:00.000Z', 'minRecord');

// errors
assertFailedWithCode(
    () => cdb.createCollection('bad', {clusteredIndex: {key: {a: 1}, unique: true}}), 197,
    'cluster key other than _id');
assertFailedWithCode(
    () => cdb.createCollection('bad', {clusteredIndex: {key: {_id: 1}, unique: false}}), 5979700,
    'unique: false');
