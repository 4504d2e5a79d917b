// _lib/assert.js -- Mica's small assert helper for jstests, loaded by
// tests/integration/run_jstest.py before every test script. (Files whose names
// start with "_" are not tests.) Every failure throws, which makes mongosh exit
// non-zero and the test fail.

function _micaFail(msg, extra) {
  throw new Error('assertion failed: ' + msg + (extra === undefined ? '' : ' -- ' + extra));
}

function _micaShow(v) {
  try { return JSON.stringify(v); } catch (e) { return String(v); }
}

// assertEq -- strict equality for primitives, JSON equality for documents.
globalThis.assertEq = function (actual, expected, msg) {
  const same = (typeof actual === 'object' && actual !== null)
      ? _micaShow(actual) === _micaShow(expected) : actual === expected;
  if (!same)
    _micaFail((msg || 'assertEq') + ': got ' + _micaShow(actual) + ', want ' + _micaShow(expected));
};

// assertTrue -- a truthy value.
globalThis.assertTrue = function (value, msg) {
  if (!value) _micaFail(msg || 'assertTrue', _micaShow(value));
};

// assertWorked -- a command reply with ok: 1.
globalThis.assertWorked = function (res, msg) {
  if (!res || res.ok !== 1) _micaFail((msg || 'command failed'), _micaShow(res));
  return res;
};

// assertFailedWithCode -- runCommand's reply is an error with this code, or the
// call threw a server error with it (mongosh throws for ok: 0).
globalThis.assertFailedWithCode = function (fn, code, msg) {
  let res;
  try {
    res = fn();
  } catch (e) {
    if (e.code === code) return e;
    _micaFail((msg || 'wrong error') + ': want code ' + code, _micaShow({code: e.code, message: e.message}));
  }
  if (res && res.ok === 0 && res.code === code) return res;
  _micaFail((msg || 'expected an error') + ': want code ' + code, _micaShow(res));
};
