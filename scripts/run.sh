#!/usr/bin/env bash
# Prepare the embedded defaults (database, demo data, search index, bot model) and start
# api + rasa + worker + mail catcher under supervision (operations/supervision.py): a process
# that dies is restarted, the others keep running. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p var

.venv/bin/tandem db upgrade
.venv/bin/tandem seed-demo
# A few weeks of history so the reports are not empty on first start (once).
.venv/bin/tandem seed-traffic --if-empty --conversations 1500 --days 28
.venv/bin/tandem bot train

host="${TANDEM_API_HOST:-127.0.0.1}"
port="${TANDEM_API_PORT:-8000}"
cat <<TXT

  Tandem is starting (Rasa needs about a minute before the bot answers).

  Customer widget (demo shop)  http://${host}:${port}/widget/demo
  Agent console                http://${host}:${port}/console
  Supervisor view              http://${host}:${port}/console/supervisor
  Reports                      http://${host}:${port}/reports
  ML team (annotation, models) http://${host}:${port}/console/ml/annotate
  Knowledge-base editor        http://${host}:${port}/kb/editor
  Administration               http://${host}:${port}/admin  (administrators enrol TOTP first)
  Help centre                  http://${host}:${port}/help
  API docs                     http://${host}:${port}/docs
  Health                       http://${host}:${port}/healthz
  Outgoing e-mail              var/logs/mail.log (a local SMTP catcher)
  Logs of each process         var/logs/{api,rasa,worker,mail}.log

  Demo logins (password for all: $(.venv/bin/python -c 'from app.demo import DEMO_PASSWORD; print(DEMO_PASSWORD)'))
$(.venv/bin/python -c 'from app.demo import DEMO_USERS
for email, name, role in DEMO_USERS: print(f"    {role.value:<18} {email}")')

  Press Ctrl-C to stop.

TXT
exec .venv/bin/tandem run
