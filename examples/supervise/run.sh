#!/bin/sh
# The example, offline in seconds: a fresh repository, six queued tasks (two routed by the
# learning router), one supervisor run until the queue is empty, then the queue and the branches.
set -e
here=$(cd "$(dirname "$0")" && pwd)
jotty=${JOTTY:-jotty}
rm -rf /tmp/jotty-example && mkdir -p /tmp/jotty-example/repo && cd /tmp/jotty-example/repo
git init -q -b main && echo "# demo" > README.md
cp "$here/fake_agent.sh" . && git add . && git -c user.name=me -c user.email=me@x commit -qm init
db=/tmp/jotty-example/jotty.db
$jotty queue add "Write the install guide" --agent-type claude --category docs --status pending --db $db
$jotty queue add "Fix the login bug" --agent-type claude --category bug --status pending --db $db
$jotty queue add "Add a CLI flag" --agent-type opencode --category feature --status pending --db $db
$jotty queue add "Refactor the parser" --agent-type opencode --category refactor --status pending --db $db
$jotty queue add "Document the API" --agent-type auto --category docs --status pending --db $db
$jotty queue add "Fix the crash on start" --agent-type auto --category bug --status pending --db $db
$jotty supervise --config "$here/supervise.yaml" --db $db --burst
$jotty queue list --db $db
git branch --list 'agent/*'
