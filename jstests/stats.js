// stats.js -- collMod (hideIndex/unhideIndex, validators, TTL changes), collStats,
// dbStats, dataSize and validate as a shell user sees them.

const sdb = db.getSiblingDB('jsstats');
sdb.dropDatabase();
const t = sdb.t;
for (let i = 0; i < 100; i++) t.insertOne({_id: i, a: i % 10, pad: 'x'.repeat(50)});
t.createIndex({a: 1});

// hideIndex / unhideIndex go through collMod
let res = t.hideIndex('a_1');
assertEq(res.hidden_old, false, 'hidden_old');
assertEq(res.hidden_new, true, 'hidden_new');
assertEq(t.getIndexes().filter((i) => i.name === 'a_1')[0].hidden, true, 'spec says hidden');
res = t.unhideIndex({a: 1});
assertEq(res.hidden_new, false, 'unhidden');

// a validator added later is enforced on new writes
assertWorked(sdb.runCommand({collMod: 't', validator: {a: {$type: 'number'}}}));
assertFailedWithCode(() => t.insertOne({a: 'str'}), 121, 'validator enforced');
assertWorked(sdb.runCommand({collMod: 't', validationLevel: 'off'}));
t.insertOne({_id: 'free', a: 'str'});
t.deleteOne({_id: 'free'});
assertFailedWithCode(() => sdb.runCommand({collMod: 't', bogus: 1}), 72, 'unknown option');

// TTL changes report before and after
t.createIndex({at: 1}, {expireAfterSeconds: 3600});
res = sdb.runCommand({collMod: 't', index: {name: 'at_1', expireAfterSeconds: 7200}});
assertEq(res.expireAfterSeconds_old, 3600, 'expireAfterSeconds_old');
assertEq(res.expireAfterSeconds_new, 7200, 'expireAfterSeconds_new');

// collStats: counts, sizes, indexes, scale
const cs = assertWorked(sdb.runCommand({collStats: 't'}));
assertEq(cs.ns, 'jsstats.t', 'ns');
assertEq(cs.count, 100, 'count');
assertEq(cs.nindexes, 3, 'nindexes');
assertTrue(cs.size > 100 * 50, 'size counts the documents');
assertEq(Object.keys(cs.indexSizes).sort().join(','), '_id_,a_1,at_1', 'indexSizes');
const kb = assertWorked(sdb.runCommand({collStats: 't', scale: 1024}));
assertEq(kb.scaleFactor, 1024, 'scaleFactor');
assertEq(kb.size, Math.floor(cs.size / 1024), 'scaled size');

// dbStats through the shell helper
const ds = sdb.stats();
assertEq(ds.db, 'jsstats', 'db');
assertEq(ds.collections, 1, 'collections');
assertEq(ds.objects, 100, 'objects');
assertEq(ds.indexes, 3, 'indexes');
assertTrue(ds.fsTotalSize > 0, 'fsTotalSize');

// dataSize over an index range
res = assertWorked(sdb.runCommand({dataSize: 'jsstats.t', keyPattern: {a: 1}, min: {a: 2}, max: {a: 4}}));
assertEq(res.numObjects, 20, 'dataSize range');
res = assertWorked(sdb.runCommand({dataSize: 'jsstats.t'}));
assertEq(res.numObjects, 100, 'dataSize whole collection');

// validate through the shell helper
const v = t.validate({full: true});
assertEq(v.valid, true, 'valid');
assertEq(v.nrecords, 100, 'nrecords');
assertEq(v.nIndexes, 3, 'nIndexes');
assertEq(v.keysPerIndex.a_1, 100, 'keysPerIndex');
assertEq(v.errors.length, 0, 'no errors');
assertFailedWithCode(() => sdb.runCommand({validate: 'nope'}), 26, 'validate missing collection');

sdb.dropDatabase();
