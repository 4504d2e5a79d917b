// crud_read.js -- reads as a shell user sees them: find with sort/limit/skip/
// projection, cursor iteration over 1,000 documents, count, distinct, explain
// showing the index the planner chose, and the read errors.

const t = db.getSiblingDB('jsread').c;
t.drop();
const docs = [];
for (let i = 0; i < 1000; i++) docs.push({_id: i, a: i % 10, b: i, s: 'v' + (i % 3)});
assertWorked(t.getDB().runCommand({insert: 'c', documents: docs}));

// cursor iteration over every document, across many getMores
let n = 0, last = -1;
t.find().sort({_id: 1}).batchSize(50).forEach((d) => { assertEq(d._id, last + 1, 'order'); last = d._id; n++; });
assertEq(n, 1000, 'iterated all documents');
assertEq(t.find().itcount(), 1000, 'itcount');

// filter, projection, sort, skip, limit
const page = t.find({a: 7}, {b: 1, _id: 0}).sort({b: -1}).skip(1).limit(3).toArray();
assertEq(page, [{b: 987}, {b: 977}, {b: 967}], 'sort/skip/limit/projection');
assertEq(t.find({b: {$gte: 995}}).count(), 5, 'cursor.count()');
assertEq(db.getSiblingDB('jsread').runCommand({count: 'c', query: {a: 1}}).n, 100, 'count');
assertEq(t.distinct('s').sort(), ['v0', 'v1', 'v2'], 'distinct');
assertEq(t.findOne({_id: 42}).b, 42, 'findOne');

// explain: COLLSCAN without an index, IXSCAN once there is one
let plan = t.find({a: 3}).explain().queryPlanner.winningPlan;
assertEq(plan.stage, 'COLLSCAN', 'no index: collection scan');
assertWorked(t.getDB().runCommand({createIndexes: 'c', indexes: [{key: {a: 1}, name: 'a_1'}]}));
plan = t.find({a: 3}).explain().queryPlanner.winningPlan;
assertEq(plan.stage, 'FETCH', 'FETCH over the index');
assertEq(plan.inputStage.stage, 'IXSCAN', 'IXSCAN when an index exists');
assertEq(plan.inputStage.indexName, 'a_1', 'the index chosen');
const stats = t.find({a: 3}).explain('executionStats').executionStats;
assertEq(stats.nReturned, 100, 'nReturned');
assertEq(stats.totalKeysExamined, 100, 'totalKeysExamined');
assertEq(stats.totalDocsExamined, 100, 'totalDocsExamined');
assertEq(t.find({a: 3}).sort({b: 1}).limit(2).toArray().map((d) => d._id), [3, 13], 'sorted via index + SORT');

// errors
assertFailedWithCode(() => t.getDB().runCommand({find: 'c', hint: 'nope'}), 2, 'bad hint');
assertFailedWithCode(() => t.getDB().runCommand({getMore: NumberLong('123'), collection: 'c'}), 43,
                     'unknown cursor');
const r = assertWorked(t.getDB().runCommand({find: 'c', batchSize: 2}));
const k = assertWorked(t.getDB().runCommand({killCursors: 'c', cursors: [r.cursor.id]}));
assertEq(k.cursorsKilled.length, 1, 'cursorsKilled');
assertFailedWithCode(() => t.getDB().runCommand({getMore: r.cursor.id, collection: 'c'}), 43,
                     'killed cursor');
