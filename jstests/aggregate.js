// aggregate.js -- the aggregate command as a shell user sees it: iteration
// over 10,000+ results across getMores, db.c.explain().aggregate() in
// MongoDB's shape with the index the planner chose, $lookup into an indexed
// collection, $out and $merge, `let`, pipeline-style updates through
// updateOne/findOneAndUpdate, find({$expr}), and the command's errors.

const adb = db.getSiblingDB('jsagg');
adb.dropDatabase();
const c = adb.c;
const docs = [];
for (let i = 0; i < 12000; i++) docs.push({_id: i, a: i % 10, b: i, s: 'v' + (i % 3)});
assertWorked(adb.runCommand({insert: 'c', documents: docs}));

// cursors over large results
let n = 0, last = -1;
c.aggregate([{$project: {b: 1}}], {cursor: {batchSize: 100}}).forEach((d) => {
  assertEq(d._id, last + 1, 'order kept');
  last = d._id;
  n++;
});
assertEq(n, 12000, 'iterated every result');
assertEq(c.aggregate([{$match: {a: 3}}]).itcount(), 1200, 'itcount over $match');
assertEq(c.aggregate([{$group: {_id: '$s', n: {$sum: 1}}}, {$sort: {_id: 1}}]).toArray(),
  [{_id: 'v0', n: 4000}, {_id: 'v1', n: 4000}, {_id: 'v2', n: 4000}], '$group over everything');

// explain: the leading $match goes to the planner and uses the index
c.createIndex({b: 1});
let ex = c.explain().aggregate([{$match: {b: {$lt: 10}}}, {$group: {_id: '$a', n: {$sum: 1}}}]);
assertEq(ex.explainVersion, '1', 'explainVersion');
const cursorStage = ex.stages[0].$cursor;
assertEq(cursorStage.queryPlanner.winningPlan.inputStage.stage === 'IXSCAN' ||
         JSON.stringify(cursorStage.queryPlanner.winningPlan).includes('IXSCAN'), true, 'IXSCAN under $cursor');
assertTrue(ex.stages[1].$group !== undefined, '$group after $cursor');
ex = c.explain('executionStats').aggregate([{$match: {b: {$lt: 10}}}, {$group: {_id: '$a', n: {$sum: 1}}}]);
assertEq(ex.stages[0].$cursor.executionStats.nReturned, 10, 'executionStats under $cursor');
ex = c.explain().aggregate([{$match: {b: 5}}]);
assertTrue(JSON.stringify(ex.queryPlanner.winningPlan).includes('IXSCAN'), 'a pipeline that is all $match explains like find');

// $lookup into an indexed collection, both forms
const o = adb.o;
o.insertMany([{_id: 1, k: 5, v: 'five'}, {_id: 2, k: 7, v: 'seven'}, {_id: 3, k: 5, v: 'cinq'}]);
o.createIndex({k: 1});
assertEq(c.aggregate([{$match: {_id: {$in: [5, 6]}}},
  {$lookup: {from: 'o', localField: 'b', foreignField: 'k', as: 'j'}},
  {$project: {n: {$size: '$j'}}}]).toArray(), [{_id: 5, n: 2}, {_id: 6, n: 0}], '$lookup equality form');
assertEq(c.aggregate([{$match: {_id: 7}},
  {$lookup: {from: 'o', let: {x: '$b'}, pipeline: [{$match: {$expr: {$eq: ['$k', '$$x']}}}, {$project: {_id: 0, v: 1}}], as: 'j'}},
  {$project: {j: 1}}]).toArray(), [{_id: 7, j: [{v: 'seven'}]}], '$lookup pipeline form');

// let
assertEq(c.aggregate([{$match: {$expr: {$eq: ['$b', '$$target']}}}, {$project: {b: 1}}], {let: {target: 42}}).toArray(),
  [{_id: 42, b: 42}], 'let');

// $out and $merge
c.aggregate([{$match: {a: 0, b: {$lt: 100}}}, {$out: 'zeros'}]);
assertEq(adb.zeros.countDocuments({}), 10, '$out');
adb.m.insertOne({_id: 0, tag: 'old', keep: true});
c.aggregate([{$match: {b: {$lt: 3}}}, {$project: {tag: 'new'}}, {$merge: {into: 'm', whenMatched: 'merge'}}]);
assertEq(adb.m.find().sort({_id: 1}).toArray(), [{_id: 0, tag: 'new', keep: true}, {_id: 1, tag: 'new'}, {_id: 2, tag: 'new'}], '$merge merge/insert');
assertFailedWithCode(() => c.aggregate([{$merge: {into: 'm', on: 'tag'}}]), 51183, '$merge on needs a unique index');

// pipeline-style updates
const u = adb.u;
u.insertOne({_id: 1, first: 'Ada', last: 'Lovelace', n: 1});
u.updateOne({_id: 1}, [{$set: {full: {$concat: ['$first', ' ', '$last']}, n: {$add: ['$n', 1]}}}, {$unset: ['first', 'last']}]);
assertEq(u.findOne(), {_id: 1, n: 2, full: 'Ada Lovelace'}, 'updateOne with a pipeline');
assertEq(u.findOneAndUpdate({_id: 1}, [{$set: {n: {$multiply: ['$n', 10]}}}], {returnDocument: 'after'}), {_id: 1, n: 20, full: 'Ada Lovelace'},
  'findOneAndUpdate with a pipeline');
u.updateOne({_id: 2}, [{$set: {created: true}}], {upsert: true});
assertEq(u.findOne({_id: 2}), {_id: 2, created: true}, 'pipeline upsert');
assertFailedWithCode(() => u.updateOne({_id: 1}, [{$group: {_id: 1}}]), 72, '$group is not an update stage');

// find with $expr
assertEq(c.find({$expr: {$and: [{$eq: ['$a', 1]}, {$lt: ['$b', 30]}]}}).toArray().map((d) => d._id), [1, 11, 21], 'find $expr');

// errors
assertFailedWithCode(() => adb.runCommand({aggregate: 'c', pipeline: []}), 9, 'cursor is required');
assertFailedWithCode(() => adb.runCommand({aggregate: 'c', pipeline: [{$bogus: 1}], cursor: {}}), 40324, 'unknown stage');
assertFailedWithCode(() => adb.runCommand({aggregate: 'c', pipeline: [], cursor: {}, collation: {locale: 'en'}}), 238, 'collation');
assertFailedWithCode(() => adb.runCommand({aggregate: 'c', pipeline: [{$out: 'x'}, {$match: {}}], cursor: {}}), 40601, '$out must be last');
assertEq(adb.nothing.aggregate([{$match: {}}]).toArray(), [], 'a missing collection is empty');

print('aggregate.js: all checks passed');
