#!/bin/sh
# The example, offline in seconds: a fresh repository, six queued tasks (two routed by the
# learning router), one supervisor run until the queue is empty, then the queue and the branches.
set -e
here=$(cd "$(dirname "$0")" && pwd)
jotty=${JOTTY:-jotty}
dir=${JOTTY_EXAMPLE_DIR:-/tmp/jotty-example}   # made afresh: a directory of its own
rm -rf "$dir" && mkdir -p "$dir/repo" && cd "$dir/repo"
git init -q -b main && echo "# demo" > README.md
cp "$here/fake_agent.sh" . && git add . && git -c user.name=me -c user.email=me@x commit -qm init
db=$dir/jotty.db
sed "s#/tmp/jotty-example#$dir#g" "$here/supervise.yaml" > "$dir/supervise.yaml"  # its repo: ours
$jotty queue add "Write the install guide" --agent-type claude --category docs --status pending --db $db
$jotty queue add "Fix the login bug" --agent-type claude --category bug --status pending --db $db
$jotty queue add "Add a CLI flag" --agent-type opencode --category feature --status pending --db $db
$jotty queue add "Refactor the parser" --agent-type opencode --category refactor --status pending --db $db
$jotty queue add "Document the API" --agent-type auto --category docs --status pending --db $db
$jotty queue add "Fix the crash on start" --agent-type auto --category bug --status pending --db $db
$jotty supervise --config "$dir/supervise.yaml" --db $db --burst
$jotty queue list --db $db
git branch --list 'agent/*'
