//! A local AWS emulator (moto server) for tests and benchmarks: the AWS conformance suite, the
//! AWS end-to-end test and `loadout-bench coldstart` start one on 127.0.0.1 with
//! [`MotoServer::start`] (or share one per process with [`MotoServer::shared`]) and point an
//! [`AwsContext`](super::AwsContext) at [`MotoServer::endpoint`] with static credentials.
//!
//! moto comes from `LOADOUT_MOTO_SERVER`, else `<repo>/.venv/bin/moto_server` (installed by
//! `scripts/aws-emulator.sh`), else `moto_server` on PATH. Behind the `emulator` feature: never in
//! a Lambda binary.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The credentials every emulator request is signed with (moto accepts any).
pub const ACCESS_KEY_ID: &str = "test";
pub const SECRET_ACCESS_KEY: &str = "test";
pub const REGION: &str = "us-east-1";

/// A running moto server. Dropping it stops the server; so does the end of the process even
/// though a static is never dropped: the server runs under a small shell that waits on a pipe from
/// this process and kills the server when the pipe closes, which the OS does at exit.
pub struct MotoServer {
    shell: Child,
    lifeline: Option<ChildStdin>,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// Where the server's output goes.
    pub log: PathBuf,
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.shell.wait();
    }
}

/// The moto_server to run (see the module documentation). Panics with the way to install it.
pub fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LOADOUT_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the repository");
    let venv = repo.join(".venv/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|candidate| candidate.is_file())
    }) {
        return found;
    }
    panic!(
        "no moto_server found: set LOADOUT_MOTO_SERVER, or run scripts/aws-emulator.sh to install \
         it into .venv (the AWS tests need it and are never skipped)"
    );
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port()
}

/// Runs moto's server main with werkzeug's `threaded` switched off. moto's DynamoDB checks a
/// condition and then writes, with no lock between the two, while its server runs each request
/// on its own thread: concurrent conditional writes can then both pass, which DynamoDB never
/// allows (the suite's compare-and-swap check saw 39 of 40 increments). One request at a time
/// restores the atomicity the adapters rely on.
const SERIAL_MOTO: &str = r#"
import sys
import werkzeug.serving as serving
run_simple = serving.run_simple
def serial(*args, **kwargs):
    kwargs["threaded"] = False
    return run_simple(*args, **kwargs)
serving.run_simple = serial
import moto.server
moto.server.run_simple = serial
sys.argv = ["moto_server"] + sys.argv[1:]
moto.server.main()
"#;

/// The command line that runs `binary` serially: under the Python interpreter of its shebang (a
/// pip-installed console script), else `python3` if that has moto; else the binary as it is.
fn serial_command(binary: &Path) -> Vec<String> {
    let mut first_line = String::new();
    if let Ok(text) = std::fs::read(binary) {
        first_line = String::from_utf8_lossy(&text[..text.len().min(256)])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
    }
    let interpreter: Option<Vec<String>> = first_line
        .strip_prefix("#!")
        .filter(|shebang| shebang.contains("python"))
        .map(|shebang| shebang.split_whitespace().map(str::to_owned).collect());
    let interpreter = interpreter.or_else(|| {
        let has_moto = Command::new("python3")
            .args(["-c", "import moto.server"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        has_moto.then(|| vec!["python3".to_owned()])
    });
    match interpreter {
        Some(mut cmd) => {
            cmd.extend(["-c".to_owned(), SERIAL_MOTO.to_owned()]);
            cmd
        }
        None => {
            eprintln!(
                "warning: cannot find the Python of {}; running it threaded, so concurrent \
                 conditional writes may race inside moto",
                binary.display()
            );
            vec![binary.display().to_string()]
        }
    }
}

impl MotoServer {
    /// Starts a server on a free port of 127.0.0.1 and waits until it listens (up to 60 s).
    /// Panics if it cannot, with the server's output.
    pub fn start() -> Self {
        let binary = moto_binary();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("loadout-moto-{port}.log"));
        let mut command = serial_command(&binary);
        command.extend([
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ]);
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(r#""$@" >"$MOTO_LOG" 2>&1 & server=$!; read _ || true; kill "$server" 2>/dev/null; wait "$server""#)
            .arg("moto-lifeline")
            .args(&command)
            .env("MOTO_LOG", &log)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let lifeline = shell.stdin.take();
        let server = Self {
            shell,
            lifeline,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_until_ready(port, &binary);
        server
    }

    /// One server for the whole process, started by the first caller.
    pub fn shared() -> &'static MotoServer {
        static SERVER: OnceLock<MotoServer> = OnceLock::new();
        SERVER.get_or_init(MotoServer::start)
    }

    fn wait_until_ready(&self, port: u16, binary: &Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut output = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut output);
        }
        panic!(
            "{} did not listen on port {port} within 60 s; its output:\n{output}",
            binary.display()
        );
    }

    /// A context on this server with static credentials. Build one per tokio runtime: SDK
    /// clients keep connections on the runtime that opened them.
    pub async fn context(&self, settings: super::AwsSettings) -> super::AwsContext {
        super::AwsContext::builder()
            .settings(settings)
            .endpoint_url(&self.endpoint)
            .region(REGION)
            .static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
            .load()
            .await
    }
}
