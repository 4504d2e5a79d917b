// micad-args: --setParameter internalQueryMaxBlockingSortMemoryUsageBytes=1048576
// indexes_writes_spill.js -- beyond the basics, as a shell user sees them:
// index key patterns Mica refuses (and never builds), sparse/partial/hidden
// indexes with hint and explain, $indexStats counts, bulkWrite ordered and
// unordered with errors, array updates (arrayFilters, $push/$each/$sort),
// findOneAndUpdate/Replace returning the new document, concurrent-looking
// upserts, and a blocking sort larger than the (1 MiB) memory limit that fails
// with allowDiskUse: false (the default is allowDiskUseByDefault, true as in MongoDB 6.0+) and spills with it, for find and for aggregate.

const d = db.getSiblingDB('jsmore');
d.dropDatabase();
const t = d.t;

// ---- indexes
assertFailedWithCode(() => t.createIndex({'$**': 1, b: 1}), 67, 'compound wildcard not built');
assertFailedWithCode(() => t.createIndex({'$foo': 1}), 67, '$-prefixed key');
assertFailedWithCode(() => t.createIndex({a: 'text'}), 238, 'text not built yet');
assertFailedWithCode(() => t.createIndex({a: 0}), 67, 'zero direction');
assertEq(d.getCollectionNames().indexOf('t'), -1, 'nothing was built (no collection even)');

t.insertMany([...Array(100).keys()].map((i) => ({_id: i, a: i % 10, s: i % 3 === 0 ? i : undefined,
                                                  p: i % 2 ? 'odd' : 'even'})));
assertEq(t.createIndex({s: 1}, {sparse: true}), 's_1', 'sparse');
assertEq(t.createIndex({a: 1}, {partialFilterExpression: {p: 'odd'}, name: 'a_odd'}), 'a_odd',
         'partial');
assertEq(t.createIndex({a: -1, _id: 1}), 'a_-1__id_1', 'compound');
assertEq(t.find({a: 3, p: 'odd'}).hint('a_odd').itcount(), 10, 'partial index with hint');
let plan = t.find({a: 3}).sort({_id: 1}).explain().queryPlanner.winningPlan;
assertTrue(JSON.stringify(plan).includes('a_-1__id_1'), 'the compound index is chosen');
assertEq(t.find({s: {$gte: 50}}).hint('s_1').itcount(), 17, 'sparse index with hint');
for (let i = 0; i < 3; i++) t.find({a: 7}).hint('a_-1__id_1').toArray();
const stats = {};
t.aggregate([{$indexStats: {}}]).forEach((s) => { stats[s.name] = s.accesses.ops; });
assertEq(stats['a_-1__id_1'] >= 3, true, '$indexStats counts accesses');
assertWorked(d.runCommand({collMod: 't', index: {name: 's_1', hidden: true}}));
plan = t.find({s: 3}).explain().queryPlanner.winningPlan;
assertTrue(!JSON.stringify(plan).includes('s_1'), 'a hidden index is not planned');

// ---- writes
const w = d.w;
let r;
let err = null;
try {
  w.bulkWrite([{insertOne: {document: {_id: 1, v: [3, 1, 2]}}},
               {insertOne: {document: {_id: 1}}},
               {insertOne: {document: {_id: 2, v: []}}}], {ordered: false});
} catch (e) { err = e; }
assertEq(err && err.code, 11000, 'unordered bulk reports the duplicate');
assertEq(w.countDocuments({}), 2, 'unordered bulk went on after the error');
err = null;
try {
  w.bulkWrite([{insertOne: {document: {_id: 3}}}, {insertOne: {document: {_id: 3}}},
               {insertOne: {document: {_id: 4}}}]);
} catch (e) { err = e; }
assertEq(w.countDocuments({_id: {$in: [3, 4]}}), 1, 'ordered bulk stopped at the error');

r = w.updateOne({_id: 1}, {$push: {v: {$each: [9, 0], $sort: 1}}});
assertEq(r.modifiedCount, 1, '$push $each $sort');
assertEq(JSON.stringify(w.findOne({_id: 1}).v), JSON.stringify([0, 1, 2, 3, 9]), 'sorted push');
r = w.updateOne({_id: 1}, {$set: {'v.$[big]': -1}}, {arrayFilters: [{big: {$gte: 3}}]});
assertEq(JSON.stringify(w.findOne({_id: 1}).v), JSON.stringify([0, 1, 2, -1, -1]), 'arrayFilters');
let doc = w.findOneAndUpdate({_id: 2}, {$inc: {n: 5}}, {returnDocument: 'after', upsert: true});
assertEq(doc.n, 5, 'findOneAndUpdate returns the new document');
doc = w.findOneAndReplace({_id: 2}, {z: 1}, {returnDocument: 'after'});
assertEq(doc.z, 1, 'findOneAndReplace');
for (let i = 0; i < 5; i++) w.updateOne({_id: 'u'}, {$inc: {k: 1}}, {upsert: true});
assertEq(w.findOne({_id: 'u'}).k, 5, 'repeated upserts update the one document');
assertEq(w.deleteMany({_id: {$type: 'number'}}).deletedCount, 3, 'deleteMany');
assertFailedWithCode(() => d.runCommand({insert: 'w', documents: [{}], txnNumber: NumberLong('1'),
                                          lsid: {id: UUID()}, autocommit: false,
                                          startTransaction: true}), 20,
                     'no transaction on a standalone');

// ---- a sort larger than memory
const big = d.big;
const pad = 'x'.repeat(1000);
big.insertMany([...Array(3000).keys()].map((i) => ({_id: i, k: (i * 7919) % 3000, pad: pad})));
assertFailedWithCode(() => big.find().sort({k: 1}).allowDiskUse(false).toArray(), 292,
                     'find sort with allowDiskUse: false');
const ks = big.find({}, {k: 1}).sort({k: -1}).allowDiskUse(true).toArray().map((x) => x.k);
assertEq(ks.length, 3000, 'spilled find returns everything');
assertEq(ks[0], 2999, 'spilled find in order (first)');
assertEq(ks[2999], 0, 'spilled find in order (last)');
const ex = big.find().sort({k: 1}).allowDiskUse(true).explain('executionStats');
assertEq(JSON.stringify(ex.executionStats.executionStages).includes('"usedDisk":true'), true,
         'explain shows the spill');
const ag = big.aggregate([{$sort: {k: 1}}, {$project: {k: 1}}], {allowDiskUse: true}).toArray();
assertEq(ag.length, 3000, 'aggregate $sort spills too');
assertEq(ag[0].k, 0, 'aggregate order');
d.dropDatabase();
