#!/bin/sh
# Patroni on_role_change callback (deploy/patroni/patroni.yml): called as `<script> <action> <role>
# <scope>`. When this node becomes the primary, point every pgbouncer at it and reload them, as
# deploy/cluster.py's `failover` does by hand. PGBOUNCERS lists the pgbouncer hosts (ssh access as the
# postgres user); THIS_HOST is this database host's address as the API nodes' pgbouncers reach it.
set -eu
action="$1"; role="$2"
[ "$role" = "master" ] || [ "$role" = "primary" ] || exit 0
[ "$action" = "on_role_change" ] || [ "$action" = "on_start" ] || exit 0
: "${PGBOUNCERS:=pgbouncer1.internal pgbouncer2.internal}"
: "${THIS_HOST:=$(hostname -f)}"
for bouncer in $PGBOUNCERS; do
  ssh "postgres@$bouncer" "sed -i 's/^pollwatch = host=[^ ]*/pollwatch = host=$THIS_HOST/' /etc/pgbouncer/pgbouncer.ini && kill -HUP \$(cat /run/postgresql/pgbouncer.pid)"
done
