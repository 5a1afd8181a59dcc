#!/usr/bin/env bash
# Makes a PostgreSQL and a MariaDB server run on 127.0.0.1 for the tests, installing them from
# Debian's packages when missing. Idempotent: a second run only checks (well under a second).
# Prints the URLs the tests use as DBSYNC_TEST_POSTGRES_URL and DBSYNC_TEST_MYSQL_URL.
set -euo pipefail

USER_NAME=dbsync
PASSWORD=dbsync
DATABASE=dbsync_test
apt_updated=""

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq >/dev/null; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
wait_for() { # command… — up to 30 s
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}

# A self-signed certificate, so that the TLS options of the URLs are tested over real TLS.
TLS_DIR=/var/lib/dbsync-test-tls
tls_certificate() {
  [ -s "$TLS_DIR/server.crt" ] && return 0
  as_root mkdir -p "$TLS_DIR"
  as_root openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
    -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.crt" >/dev/null 2>&1
}

postgres() {
  command -v pg_lsclusters >/dev/null || apt_install postgresql
  local cluster version name status
  cluster=$(pg_lsclusters --no-header | head -n 1)
  if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    as_root pg_createcluster "$version" main >/dev/null
    cluster=$(pg_lsclusters --no-header | head -n 1)
  fi
  read -r version name _ status _ <<<"$cluster"
  [ "$status" = online ] || as_root pg_ctlcluster "$version" "$name" start
  wait_for as_root runuser -u postgres -- psql -qtAc "select 1"
  if [ "$(as_root runuser -u postgres -- psql -qtAc 'show ssl')" != on ]; then
    as_root install -o postgres -g postgres -m 600 "$TLS_DIR/server.key" "$TLS_DIR/pg.key"
    as_root install -o postgres -g postgres -m 644 "$TLS_DIR/server.crt" "$TLS_DIR/pg.crt"
    as_root runuser -u postgres -- psql -qtA >/dev/null <<SQL
ALTER SYSTEM SET ssl_cert_file = '$TLS_DIR/pg.crt';
ALTER SYSTEM SET ssl_key_file = '$TLS_DIR/pg.key';
ALTER SYSTEM SET ssl = on;
SELECT pg_reload_conf();
SQL
  fi
  as_root runuser -u postgres -- psql -qtA >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$USER_NAME') THEN
    CREATE ROLE $USER_NAME LOGIN SUPERUSER PASSWORD '$PASSWORD';
  END IF;
END \$\$;
SQL
  as_root runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1 ||
    as_root runuser -u postgres -- createdb -O "$USER_NAME" "$DATABASE"
}

mariadb_server() {
  command -v mariadbd >/dev/null || apt_install mariadb-server
  local tls_config=/etc/mysql/mariadb.conf.d/99-dbsync-test-tls.cnf
  if [ ! -s "$tls_config" ]; then
    as_root install -o mysql -g mysql -m 600 "$TLS_DIR/server.key" "$TLS_DIR/mysql.key"
    as_root install -o mysql -g mysql -m 644 "$TLS_DIR/server.crt" "$TLS_DIR/mysql.crt"
    printf '[mariadbd]\nssl-cert=%s/mysql.crt\nssl-key=%s/mysql.key\n' "$TLS_DIR" "$TLS_DIR" | as_root tee "$tls_config" >/dev/null
  fi
  # TLS is read at start-up only: a server running without it is restarted once.
  if as_root mariadb-admin ping >/dev/null 2>&1 &&
    [ "$(as_root mariadb -NBe "SELECT @@have_ssl")" != YES ]; then
    as_root mariadb-admin shutdown
    for _ in $(seq 1 60); do as_root mariadb-admin ping >/dev/null 2>&1 || break; sleep 0.5; done
  fi
  if ! as_root mariadb-admin ping >/dev/null 2>&1; then
    as_root mkdir -p /run/mysqld
    as_root chown mysql:mysql /run/mysqld
    as_root sh -c 'nohup mariadbd-safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &'
    wait_for as_root mariadb-admin ping
  fi
  as_root mariadb <<SQL
CREATE DATABASE IF NOT EXISTS $DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$USER_NAME'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
CREATE USER IF NOT EXISTS '$USER_NAME'@'localhost' IDENTIFIED BY '$PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
}

tls_certificate
postgres
mariadb_server
echo "DBSYNC_TEST_POSTGRES_URL=postgres://$USER_NAME:$PASSWORD@127.0.0.1:5432/$DATABASE"
echo "DBSYNC_TEST_MYSQL_URL=mysql://$USER_NAME:$PASSWORD@127.0.0.1:3306/$DATABASE"
