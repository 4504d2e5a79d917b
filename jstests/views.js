// views.js -- read-only views as MongoDB's documentation shows them (db.createView,
// "Create and Query a View", "Use a View to Join Two Collections").

const vdb = db.getSiblingDB('jsviews');
vdb.dropDatabase();

vdb.students.insertMany([
    {sID: 22001, name: 'Alex', year: 1, score: 4.0},
    {sID: 21001, name: 'bernie', year: 2, score: 3.7},
    {sID: 20010, name: 'Chris', year: 3, score: 2.5},
    {sID: 22021, name: 'Drew', year: 1, score: 3.2},
    {sID: 17301, name: 'harley', year: 6, score: 3.1},
    {sID: 21022, name: 'Farmer', year: 1, score: 2.2},
    {sID: 20020, name: 'george', year: 3, score: 2.8},
    {sID: 18020, name: 'Harley', year: 5, score: 2.8},
]);
assertWorked(vdb.createView('firstYears', 'students', [{$match: {year: 1}}]));
const firstYears = vdb.firstYears.find({}, {_id: 0}).toArray();
assertEq(JSON.stringify(firstYears.map((d) => d.name)), JSON.stringify(['Alex', 'Drew', 'Farmer']),
         'firstYears');
assertEq(firstYears[0].score, 4, 'projection through the view');
assertEq(vdb.firstYears.countDocuments({score: {$gt: 3}}), 2, 'countDocuments on a view');
assertEq(vdb.firstYears.distinct('year').length, 1, 'distinct on a view');

const info = vdb.getCollectionInfos({name: 'firstYears'})[0];
assertEq(info.type, 'view', 'listCollections type');
assertEq(info.options.viewOn, 'students', 'listCollections viewOn');

// a view that joins two collections
vdb.inventory.insertMany([
    {prodId: 100, price: 20, quantity: 125},
    {prodId: 101, price: 10, quantity: 234},
    {prodId: 102, price: 15, quantity: 432},
    {prodId: 103, price: 17, quantity: 320},
]);
vdb.orders.insertMany([
    {orderId: 201, custid: 301, prodId: 100, numPurchased: 20},
    {orderId: 202, custid: 302, prodId: 101, numPurchased: 10},
    {orderId: 203, custid: 303, prodId: 102, numPurchased: 5},
    {orderId: 204, custid: 303, prodId: 103, numPurchased: 15},
    {orderId: 205, custid: 303, prodId: 103, numPurchased: 20},
    {orderId: 206, custid: 302, prodId: 102, numPurchased: 1},
    {orderId: 207, custid: 302, prodId: 101, numPurchased: 5},
    {orderId: 208, custid: 301, prodId: 100, numPurchased: 10},
    {orderId: 209, custid: 303, prodId: 103, numPurchased: 30},
]);
assertWorked(vdb.createView('sales', 'orders', [
    {$lookup: {from: 'inventory', localField: 'prodId', foreignField: 'prodId', as: 'inventoryDocs'}},
    {$project: {_id: 0, prodId: 1, orderId: 1, numPurchased: 1, price: '$inventoryDocs.price'}},
    {$unwind: '$price'},
]));
const sold = vdb.sales
                 .aggregate([
                     {$group: {_id: '$prodId', amountSold: {$sum: {$multiply: ['$price', '$numPurchased']}}}},
                     {$sort: {_id: 1}},
                 ])
                 .toArray();
assertEq(JSON.stringify(sold), JSON.stringify([
             {_id: 100, amountSold: 600}, {_id: 101, amountSold: 150}, {_id: 102, amountSold: 90},
             {_id: 103, amountSold: 1105}
         ]),
         'sales by product');

// views are read-only
let err = null;
try { vdb.firstYears.insertOne({name: 'x'}); } catch (e) { err = e; }
assertEq(err && err.code, 166, 'insert into a view');
err = null;
try { vdb.firstYears.createIndex({name: 1}); } catch (e) { err = e; }
assertEq(err && err.code, 166, 'index on a view');

// collMod and drop
assertWorked(vdb.runCommand({collMod: 'firstYears', viewOn: 'students', pipeline: [{$match: {year: 3}}]}));
assertEq(vdb.firstYears.countDocuments({}), 2, 'collMod changed the pipeline');
assertEq(vdb.firstYears.drop(), true, 'drop a view');
assertEq(vdb.getCollectionNames().includes('firstYears'), false, 'view gone');
vdb.dropDatabase();
