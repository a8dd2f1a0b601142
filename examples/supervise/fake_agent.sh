#!/bin/sh
# A stand-in for a coding agent (claude -p, cursor-agent, opencode run): it reads the prompt
# file, writes a note about it, commits on the task's branch and prints a JSON verdict.
set -e
echo "agent $AGENT_NAME on $JOTTY_TASK_ID in $(pwd)"
mkdir -p notes
{ echo "# done by $AGENT_NAME"; cat "$1"; } > "notes/$JOTTY_TASK_ID.md"
git add notes
git -c user.name="$AGENT_NAME" -c user.email=agent@example.com commit -qm "$AGENT_NAME: $2"
echo '{"status": "ok"}'
