"""check_privileges.py -- every command of mongod/commands.def has a row in
mongod/privileges.def, and every row names a command of the table.

With access control on, dispatch checks each command against its row before
the handler runs; a command without a row runs for __system only (start-up
logs warning 20436), so an ordinary user with the right role would be refused
it. The rows exempt are:
  - commands flagged WIRE_CMD_NO_AUTH (the handshake, ping, SASL, logout...),
    which run before authentication and never reach the table;
  - commands named in a comment `exempt: <name> -- <why>` in privileges.def
    (for one that only __system may ever run, on purpose).
Adding a command therefore means adding its privilege row in the same change.
"""
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cmds_src = open(os.path.join(root, "mongod", "commands.def")).read()
privs_src = open(os.path.join(root, "mongod", "privileges.def")).read()

# MICAD_CMD("name", handler, flags, "help" ...): flags run up to the first string
commands = {}
for m in re.finditer(r'MICAD_CMD\(\s*"([^"]+)"\s*,\s*\w+\s*,\s*([^"]*?),\s*"', cmds_src, re.S):
    commands[m.group(1)] = m.group(2)
n_rows = len(re.findall(r'^MICAD_CMD\(', cmds_src, re.M))
if n_rows != len(commands):
    print("check_privileges.py read %d of the %d MICAD_CMD rows: update its pattern"
          % (len(commands), n_rows))
    sys.exit(1)

rows = re.findall(r'^MICAD_PRIV(?:_FN)?\(\s*"([^"]+)"', privs_src, re.M)
exempt = set(re.findall(r'exempt:\s*([A-Za-z_$][A-Za-z0-9_]*)\s*--', privs_src))

failed = False
seen = set()
for name in rows:
    if name in seen:
        print("mongod/privileges.def has two rows for %s" % name)
        failed = True
    seen.add(name)
    if name not in commands:
        print("mongod/privileges.def has a row for %s, which mongod/commands.def lacks" % name)
        failed = True
for name, flags in sorted(commands.items()):
    if "WIRE_CMD_NO_AUTH" in flags or name in exempt:
        continue
    if name not in seen:
        print("%s (mongod/commands.def) has no row in mongod/privileges.def: with --auth only "
              "__system could run it" % name)
        failed = True
print("%d commands, %d privilege rows, %d exempt" % (len(commands), len(seen), len(exempt)))
sys.exit(1 if failed else 0)
