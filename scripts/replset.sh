#!/usr/bin/env bash
# replset.sh -- start a local three-member replica set (make replset):
# micad on 127.0.0.1:27017-27019, data under ./data/rs{0,1,2}, logs beside the data,
# initiated as "rs0", then print the connection string. Stop it with
#   kill $(cat data/rs0/micad.pid data/rs1/micad.pid data/rs2/micad.pid)
set -euo pipefail
BIN=${1:-build/bin/micad}
SET=rs0
BASE=${BASE_PORT:-27017} # another base port: BASE_PORT=28017 make replset
PORTS=($BASE $((BASE + 1)) $((BASE + 2)))
for i in 0 1 2; do
  dir=data/rs$i
  mkdir -p "$dir"
  if [ -f "$dir/micad.pid" ] && kill -0 "$(cat "$dir/micad.pid")" 2>/dev/null; then
    echo "member $i already running (pid $(cat "$dir/micad.pid"))"
    continue
  fi
  nohup "$BIN" --replSet "$SET" --port "${PORTS[$i]}" --bind_ip 127.0.0.1 --dbpath "$dir" \
    --logpath "$dir/micad.log" --logappend --pidfilepath "$dir/micad.pid" >/dev/null 2>&1 &
done
# wait for every member to answer, then initiate (a no-op if the set already exists)
/usr/bin/python3 - "$SET" "${PORTS[@]}" <<'PY'
import sys, time
import pymongo
name, ports = sys.argv[1], sys.argv[2:]
def client(p):
    return pymongo.MongoClient("127.0.0.1", int(p), directConnection=True,
                               serverSelectionTimeoutMS=2000)
deadline = time.time() + 30
for p in ports:
    while True:
        try:
            client(p).admin.command("ping")
            break
        except pymongo.errors.PyMongoError:
            if time.time() > deadline:
                sys.exit("member on port %s did not start (see data/rs*/micad.log)" % p)
            time.sleep(0.2)
c = client(ports[0])
if "setName" not in c.admin.command("hello"):
    cfg = {"_id": name, "version": 1,
           "members": [{"_id": i, "host": "127.0.0.1:%s" % p} for i, p in enumerate(ports)]}
    c.admin.command("replSetInitiate", cfg)
deadline = time.time() + 60
while time.time() < deadline:
    if any(client(p).admin.command("hello").get("isWritablePrimary") for p in ports):
        break
    time.sleep(0.2)
else:
    sys.exit("no primary was elected (see data/rs*/micad.log)")
print("mongodb://%s/?replicaSet=%s" % (",".join("127.0.0.1:%s" % p for p in ports), name))
PY
