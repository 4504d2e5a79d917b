// crud_write.js -- the write side as a shell user sees it: insertOne/Many,
// updateOne/Many, replaceOne, deleteOne/Many, findOneAndUpdate/Delete, and
// their errors (DuplicateKey, validation, immutable _id).

const c = db.getSiblingDB('jscrud').w;
c.drop();

let r = c.insertOne({_id: 1, a: 1});
assertEq(r.insertedId, 1, 'insertOne insertedId');
r = c.insertMany([{_id: 2, a: 2}, {_id: 3, a: 3}]);
assertEq(Object.keys(r.insertedIds).length, 2, 'insertMany ids');

let err = null;
try { c.insertOne({_id: 1}); } catch (e) { err = e; }
assertTrue(err !== null, 'duplicate insert throws');
assertEq(err.code, 11000, 'DuplicateKey code');
assertEq(err.errmsg || err.message,
         'E11000 duplicate key error collection: jscrud.w index: _id_ dup key: { _id: 1 }',
         'DuplicateKey message');

r = c.updateMany({a: {$gte: 2}}, {$inc: {a: 10}});
assertEq(r.matchedCount, 2, 'updateMany matched');
assertEq(r.modifiedCount, 2, 'updateMany modified');
r = c.updateOne({_id: 9}, {$set: {a: 9}}, {upsert: true});
assertEq(r.upsertedCount, 1, 'upsert count');
r = c.replaceOne({_id: 9}, {b: 1});
assertEq(r.modifiedCount, 1, 'replaceOne');

err = null;
try { c.updateOne({_id: 1}, {$set: {_id: 5}}); } catch (e) { err = e; }
assertEq(err && err.code, 66, 'ImmutableField');

let d = c.findOneAndUpdate({_id: 2}, {$set: {x: 1}}, {returnDocument: 'after'});
assertEq(d.x, 1, 'findOneAndUpdate after');
d = c.findOneAndDelete({_id: 3});
assertEq(d.a, 13, 'findOneAndDelete returns the document');

r = c.deleteOne({_id: 1});
assertEq(r.deletedCount, 1, 'deleteOne');
r = c.deleteMany({});
assertEq(r.deletedCount, 2, 'deleteMany');

const v = db.getSiblingDB('jscrud');
v.val.drop();
assertWorked(v.createCollection('val', {validator: {n: {$type: 'number'}}}));
err = null;
try { v.val.insertOne({n: 'x'}); } catch (e) { err = e; }
assertEq(err && err.code, 121, 'DocumentValidationFailure');

assertEq(v.dropDatabase().ok, 1, 'dropDatabase');
