"""check_suites.py -- fail when a suite keeps a hand-written list of its tests.

Every C suite takes its tests from tests.gen.h (generated from the source by
collect_tests.cmake) and every Python suite from harness.collect_tests(), so a
test that is defined is a test that runs. This check keeps it that way: it
flags a cmocka_unit_test*(name) outside the MICA_TEST definition and a
run_tests([...]) list.
"""
import glob
import os
import re
import sys

root = os.path.dirname(os.path.abspath(__file__))
bad = []
for path in sorted(glob.glob(os.path.join(root, "*", "**", "test_*.c"), recursive=True)):
    for n, line in enumerate(open(path), 1):
        if re.search(r"cmocka_unit_test\w*\(\s*(?!fn\b)\w+", line):
            bad.append("%s:%d: a hand-listed test (define MICA_TEST and include tests.gen.h)"
                       % (os.path.relpath(path, root), n))
for path in sorted(glob.glob(os.path.join(root, "integration", "test_*.py"))):
    text = open(path).read()
    if re.search(r"run_tests\(\s*\[", text):
        bad.append("%s: a hand-written run_tests([...]) list (use collect_tests(globals()))"
                   % os.path.relpath(path, root))
for b in bad:
    print(b)
print("%d problem(s)" % len(bad))
sys.exit(1 if bad else 0)
