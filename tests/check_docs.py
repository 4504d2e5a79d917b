"""check_docs.py -- docs/commands.md names exactly the commands of the table.

The command table is mongod/commands.def (one MICAD_CMD("name", ...) row per
command). A command counts as documented when docs/commands.md names it in a
command position: a backticked name in the first cell of a table whose first
column is headed "command", or a bold **name** that opens a line. The check
fails when the table has a command the page never names, or the page names a
command the table lacks -- both directions, so adding a command (a row in
commands.def) means adding it to the page in the same change, whoever adds it.
"""
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
table = set(re.findall(r'MICAD_CMD\("([^"]+)"', open(os.path.join(root, "mongod", "commands.def")).read()))

documented = set()
in_command_table = False
for line in open(os.path.join(root, "docs", "commands.md")):
    line = line.rstrip("\n")
    if line.startswith("|"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0].lower() == "command":
            in_command_table = True
            continue
        if in_command_table and not set(cells[0]) <= set("-: "):
            documented.update(re.findall(r"`([A-Za-z_$][A-Za-z0-9_]*)`", cells[0]))
        continue
    in_command_table = False
    for names in re.findall(r"^((?:\*\*[A-Za-z_$][A-Za-z0-9_]*\*\*[, /]*(?:and |or )?)+)", line):
        documented.update(re.findall(r"\*\*([A-Za-z_$][A-Za-z0-9_]*)\*\*", names))

missing = sorted(table - documented)
extra = sorted(documented - table)
for name in missing:
    print("docs/commands.md does not document %s (a row of mongod/commands.def)" % name)
for name in extra:
    print("docs/commands.md documents %s, which mongod/commands.def lacks" % name)
print("%d commands in the table, %d documented" % (len(table), len(documented & table)))
sys.exit(1 if missing or extra else 0)
