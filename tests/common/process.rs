//! The real `switchboard` binary as a child process, for tests that kill or signal it: started on
//! port 0 against a given database with JSON logs, its address read from its own start-up line;
//! every line it logs is kept in `logs`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server process.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub ws_base: String,
    /// Every line the server wrote to stdout (its JSON log), as it comes.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary with the test profile on `db_url`, plus `SWITCHBOARD__` overrides.
    pub fn start(db_url: &str, overrides: &[(&str, &str)]) -> ServerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.arg("serve")
            .env("SWITCHBOARD_ENV", "test")
            .env("SWITCHBOARD_CONFIG_DIR", super::config_dir())
            .env("SWITCHBOARD__DATABASE__URL", db_url)
            .env("SWITCHBOARD__SERVER__BIND", "127.0.0.1:0")
            .env("SWITCHBOARD__SERVER__WORKERS", "1")
            .env("SWITCHBOARD__LOG__FORMAT", "json")
            .env("SWITCHBOARD__LOG__FILTER", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in overrides {
            cmd.env(format!("SWITCHBOARD__{k}"), v);
        }
        let mut child = cmd.spawn().expect("switchboard starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(addr) = v["addr"].as_str()
                {
                    let _ = tx.send(addr.to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server printed its address");
        ServerProcess {
            child,
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            logs,
        }
    }

    /// SIGKILL: the process dies at once, mid-whatever.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then the exit status once it has stopped.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 10 s of SIGTERM");
    }

    /// SIGSTOP: the process freezes (its sockets stay open, its clock runs on) until `resume`.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: a paused process carries on where it was.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Whether a line of its log contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.logs.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// Sends SIGTERM and returns at once (the test's clients keep running meanwhile).
    pub fn send_sigterm(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// The exit status once the process has stopped, waiting without blocking the test's runtime.
    pub async fn exited(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not stop within 10 s of SIGTERM");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
