// handshake.js -- what a shell user sees on connect: hello, buildInfo, errors.

const hello = db.hello();
assertEq(hello.maxWireVersion, 21, 'maxWireVersion');
assertEq(hello.minWireVersion, 0, 'minWireVersion');
assertEq(hello.isWritablePrimary, true, 'isWritablePrimary');
assertEq(hello.maxBsonObjectSize, 16777216, 'maxBsonObjectSize');
assertTrue(hello.topologyVersion && hello.topologyVersion.processId, 'topologyVersion');

const legacy = db.runCommand({isMaster: 1});
assertEq(legacy.ismaster, true, 'isMaster.ismaster');

const info = assertWorked(db.adminCommand({buildInfo: 1}));
assertEq(info.version, '7.0.0', 'buildInfo.version');
assertEq(info.versionArray[0], 7, 'versionArray');
assertTrue(info.mica && info.mica.version, 'mica.version');
assertEq(db.version(), '7.0.0', 'db.version()');

assertWorked(db.runCommand({ping: 1}));
assertWorked(db.adminCommand({getParameter: 1, featureCompatibilityVersion: 1}));
assertEq(db.adminCommand({getParameter: 1, featureCompatibilityVersion: 1})
             .featureCompatibilityVersion.version, '7.0', 'fcv');

const status = assertWorked(db.serverStatus());
assertEq(status.process, 'micad', 'serverStatus.process');
assertTrue(status.connections.current >= 1, 'connections.current');

assertFailedWithCode(() => db.runCommand({nosuch: 1}), 59, 'unknown command');
assertFailedWithCode(() => db.getSiblingDB('test').runCommand({getCmdLineOpts: 1}), 13,
                     'admin-only command elsewhere');

const warnings = assertWorked(db.adminCommand({getLog: 'startupWarnings'}));
assertTrue(Array.isArray(warnings.log), 'startupWarnings.log');

print('handshake.js passed');
