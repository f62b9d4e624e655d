//! Real PostgreSQL and MariaDB servers for the export tests: each started in a temporary folder
//! on a free loopback port (tried again on another if that port was taken before the server
//! bound it), with a password user, and stopped when dropped.

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "daybook";
pub const PASSWORD: &str = "daybook-test-pw";
pub const DATABASE: &str = "shop";

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The folder of PostgreSQL's server programs (Debian keeps them out of PATH).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| dir.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|bin| bin.join("initdb").exists())
        .expect("PostgreSQL's server is not installed: run the README's test command (scripts/test), which installs it")
}

pub struct PostgresServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

/// Runs openssl in `dir`, for the test certificates.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is not on PATH: install it (Debian's openssl package)");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA of the test's own in `dir` (`<name>.pem`, `<name>.key`); returns its certificate.
pub fn test_ca(dir: &Path, name: &str) -> Vec<u8> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    std::fs::read(dir.join(format!("{name}.pem"))).unwrap()
}

/// A server certificate for 127.0.0.1 (and no host name), signed by the CA `ca` in `dir`:
/// `server.crt` and `server.key`.
fn server_certificate(dir: &Path, ca: &str) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
}

impl PostgresServer {
    pub fn start() -> Self {
        Self::start_with(false).0
    }

    /// A server that speaks TLS too, with a certificate for 127.0.0.1 signed by a CA of its
    /// own; returns the CA's certificate (PEM) beside it.
    pub fn start_tls() -> (Self, Vec<u8>) {
        let (server, ca) = Self::start_with(true);
        (server, ca.expect("the CA"))
    }

    fn start_with(tls: bool) -> (Self, Option<Vec<u8>>) {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().expect("a temp dir");
        let ca = tls.then(|| {
            let ca = test_ca(dir.path(), "daybook-test-ca");
            server_certificate(dir.path(), "daybook-test-ca");
            ca
        });
        // initdb refuses to run as root: the server runs as the postgres account then.
        let as_postgres = running_as_root();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown the PostgreSQL folder to postgres");
        }
        let server = Self {
            dir,
            bin,
            as_postgres,
            port: free_port(),
        };
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                "--auth=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "--encoding=UTF8",
                "--locale=C",
            ],
        );
        let log = server.dir.path().join("server.log");
        let mut server = server;
        // free_port's port can be taken again before PostgreSQL binds it: then the start fails
        // on "could not bind" and is tried on another port. `pg_ctl -w` waits for this server
        // itself (its postmaster.pid), so no other listener can pass for it.
        for attempt in 1.. {
            let options = format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off{}",
                server.port,
                server.dir.path().display(),
                if tls {
                    let at = server.dir.path();
                    format!(
                        " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                        at.join("server.crt").display(),
                        at.join("server.key").display()
                    )
                } else {
                    String::new()
                }
            );
            let started = server
                .command("pg_ctl")
                .args(["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap()])
                .args(["-o", &options, "-w", "start"])
                .current_dir(server.dir.path())
                .output()
                .expect("pg_ctl runs");
            if started.status.success() {
                break;
            }
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                attempt < 5 && said.contains("could not bind"),
                "PostgreSQL did not start on 127.0.0.1:{}: {}{said}",
                server.port,
                String::from_utf8_lossy(&started.stderr)
            );
            server.port = free_port();
        }
        server.psql("postgres", &format!("CREATE DATABASE {DATABASE}"));
        (server, ca)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs SQL through psql as the test user (for setup that is not under test).
    pub fn psql(&self, database: &str, sql: &str) {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Waits for this MariaDB's own log to say it is ready on `port` (so no other listener on the
/// port can pass for it). `None` when the port was taken before it bound, to try another.
fn wait_until_ready(mut child: Child, port: u16, log: &Path, attempt: u32) -> Option<(Child, u16)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let said = std::fs::read_to_string(log).unwrap_or_default();
        if said.contains("ready for connections") && said.contains(&format!("port: {port}")) {
            return Some((child, port));
        }
        if let Ok(Some(_)) = child.try_wait() {
            assert!(
                attempt < 5 && said.contains("Bind on TCP/IP port"),
                "MariaDB stopped before it was ready on 127.0.0.1:{port}; its log:\n{said}"
            );
            // The next attempt appends to the same log: start it empty.
            let _ = std::fs::write(log, "");
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "MariaDB was not ready on 127.0.0.1:{port} within 60s; its log:\n{said}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A MariaDB server (Debian's mariadb-server), the MySQL engine of the tests.
pub struct MariaDbServer {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl MariaDbServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let data = dir.path().join("data");
        let socket = dir.path().join("mysqld.sock");
        let user = if running_as_root() { "root" } else { "" };
        let mut install = Command::new("mariadb-install-db");
        install
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if !user.is_empty() {
            install.arg(format!("--user={user}"));
        }
        let output = install
            .output()
            .expect("mariadb-install-db is not installed: run the README's test command (scripts/test), which installs mariadb-server");
        assert!(
            output.status.success(),
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let log = dir.path().join("server.log");
        let (child, port) = (1..)
            .find_map(|attempt| {
                let port = free_port();
                let mut server = Command::new("mariadbd");
                server
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", data.display()))
                    .arg(format!("--socket={}", socket.display()))
                    .arg(format!("--port={port}"))
                    .arg("--bind-address=127.0.0.1")
                    .arg(format!("--log-error={}", log.display()))
                    .arg(format!(
                        "--pid-file={}",
                        dir.path().join("mysqld.pid").display()
                    ))
                    .args(["--skip-log-bin", "--innodb-buffer-pool-size=32M"]);
                if !user.is_empty() {
                    server.arg(format!("--user={user}"));
                }
                let child = server
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("mariadbd starts");
                wait_until_ready(child, port, &log, attempt)
            })
            .expect("MariaDB started");
        let server = Self { child, dir, port };
        server.sql(&format!(
            "CREATE DATABASE {DATABASE}; CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON {DATABASE}.* TO '{USER}'@'%';"
        ));
        server
    }

    /// Runs SQL as root through the socket (setup only).
    pub fn sql(&self, sql: &str) {
        let output = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!(
                "--socket={}",
                self.dir.path().join("mysqld.sock").display()
            ))
            .args(["-u", "root", "-e", sql])
            .output()
            .expect("the mariadb client runs");
        assert!(
            output.status.success(),
            "mariadb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn url(&self) -> String {
        format!(
            "mysql://{USER}:{PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
