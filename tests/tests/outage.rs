//! A database outage: while PostgreSQL is down, `/readyz` says so and requests get
//! SERVICE_UNAVAILABLE; when it returns, the same gateway serves again, without a
//! restart. The test runs its own PostgreSQL server so it can stop and start it.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use retain_tests::TestGateway;
use serde_json::json;

/// A PostgreSQL server in a temporary directory, on a free port.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl OwnPostgres {
    fn create() -> Self {
        let bin = std::env::var_os("RETAIN_TEST_PG_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
                    .filter(|bin| bin.join("initdb").exists())
                    .collect();
                found.sort();
                found.pop()
            })
            .expect("PostgreSQL server binaries (set RETAIN_TEST_PG_BIN)");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = Self { dir, bin, port };
        if running_as_root() {
            // PostgreSQL refuses to run as root; its own user runs it.
            run(Command::new("chown")
                .args(["-R", "postgres"])
                .arg(server.dir.path()));
        }
        server.pg(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-D", &server.data()],
        );
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        run(command.args(args));
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .status();
        if running_as_root() {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &self.data(), "-m", "immediate", "stop"])
                .status();
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn wait_for_readyz(gw: &TestGateway, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = gw
            .client
            .get(gw.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        if now.as_u16() == status {
            return;
        }
        assert!(Instant::now() < deadline, "/readyz still answers {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_rides_out_a_database_outage() {
    let postgres = OwnPostgres::create();
    postgres.start();
    let gw = TestGateway::start_on(postgres.url(), |_| {}).await;
    gw.query(
        r#"mutation { createCustomer(input: { externalId: "o", name: "Olga" }) { id } }"#,
        json!({}),
    )
    .await;
    wait_for_readyz(&gw, 200).await;

    postgres.stop();
    wait_for_readyz(&gw, 503).await;
    let reply = gw
        .post("{ customers(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(reply.status, 503, "{:#}", reply.body);
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    assert!(
        !reply.body.to_string().contains("127.0.0.1"),
        "no internals leak: {}",
        reply.body
    );

    postgres.start();
    wait_for_readyz(&gw, 200).await;
    let data = gw
        .query(
            "{ customers(first: 1) { totalCount edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["customers"]["edges"][0]["node"]["name"], "Olga");
}
