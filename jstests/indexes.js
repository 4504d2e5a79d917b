// indexes.js -- createIndex/getIndexes/dropIndex(es) as a shell user sees them.

const t = db.getSiblingDB('jsidx').t;
t.drop();
assertEq(t.createIndex({a: 1, b: -1}), 'a_1_b_-1', 'generated name');
assertEq(t.createIndex({u: 1}, {unique: true}), 'u_1', 'unique index');
const names = t.getIndexes().map((i) => i.name).sort();
assertEq(JSON.stringify(names), JSON.stringify(['_id_', 'a_1_b_-1', 'u_1']), 'getIndexes');

t.insertOne({u: 1});
let err = null;
try { t.insertOne({u: 1}); } catch (e) { err = e; }
assertEq(err && err.code, 11000, 'unique enforced');

err = null;
try { t.createIndex({a: 1, b: -1}, {name: 'other'}); } catch (e) { err = e; }
assertEq(err && err.code, 85, 'IndexOptionsConflict');

assertWorked(t.dropIndex('u_1'));
err = null;
try { t.dropIndex('_id_'); } catch (e) { err = e; }
assertEq(err && err.code, 72, 'cannot drop _id index');
assertWorked(t.dropIndexes());
assertEq(t.getIndexes().length, 1, 'only _id_ left');
db.getSiblingDB('jsidx').dropDatabase();
