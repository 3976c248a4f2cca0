//! The service's small HTTP server (`webserver` in the configuration):
//! the health endpoint and `/metrics`, on the `tiny_http` crate (a
//! synchronous server with its own request parser: one thread here, no
//! async runtime, and no HTTP parsing written by hand).

use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Response, Server};

use super::metrics::Shared;

/// A running server; [`WebServer::stop`] ends it.
pub struct WebServer {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    /// The address it listens on.
    pub addr: std::net::SocketAddr,
}

impl WebServer {
    /// Listens on `address:port` and serves `healthz` (the health path)
    /// and, with `metrics`, `/metrics`, from a thread of its own.
    pub fn start(
        address: &str,
        port: u16,
        healthz: &str,
        metrics: bool,
        shared: Shared,
    ) -> Result<WebServer, String> {
        let listen = format!("{address}:{port}");
        let listen = if address.contains(':') {
            format!("[{address}]:{port}")
        } else {
            listen
        };
        let server = Server::http(&listen)
            .map_err(|e| format!("webserver: cannot listen on {listen}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| format!("webserver: {listen} is not an IP address"))?;
        let server = Arc::new(server);
        let s = server.clone();
        let path = healthz.to_string();
        let thread = std::thread::Builder::new()
            .name("webserver".into())
            .spawn(move || serve(&s, &path, metrics, &shared))
            .map_err(|e| format!("webserver: cannot start its thread: {e}"))?;
        log::info!(
            "webserver: listening on http://{addr} ({healthz}{})",
            if metrics { ", /metrics" } else { "" }
        );
        Ok(WebServer {
            server,
            thread: Some(thread),
            addr,
        })
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn text_header(kind: &str) -> Header {
    Header::from_bytes(&b"Content-Type"[..], kind.as_bytes()).expect("a valid header")
}

fn serve(server: &Server, healthz: &str, metrics: bool, shared: &Shared) {
    for req in server.incoming_requests() {
        let path = req.url().split('?').next().unwrap_or("").to_string();
        let get = matches!(
            req.method(),
            tiny_http::Method::Get | tiny_http::Method::Head
        );
        let response = if !get {
            Response::from_string("method not allowed\n").with_status_code(405)
        } else if path == healthz {
            match shared.health.check() {
                Ok(()) => Response::from_string("{\"status\":\"ok\"}\n")
                    .with_header(text_header("application/json")),
                Err(why) => Response::from_string(format!(
                    "{{\"status\":\"unavailable\",\"reason\":{}}}\n",
                    serde_json::Value::String(why)
                ))
                .with_header(text_header("application/json"))
                .with_status_code(503),
            }
        } else if metrics && path == "/metrics" {
            shared.metrics.refresh_at_scrape(shared.device.as_deref());
            if let Some(stats) = shared
                .outputs
                .as_ref()
                .and_then(|o| super::with_outputs(o, crate::output::Outputs::stats))
            {
                shared.metrics.sinks(&stats);
            }
            Response::from_string(shared.metrics.encode()).with_header(text_header(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ))
        } else {
            Response::from_string("not found\n").with_status_code(404)
        };
        if let Err(e) = req.respond(response) {
            log::debug!("webserver: answering {path}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::metrics::{Health, Metrics};
    use std::io::{Read, Write};

    fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out.split(' ').nth(1).unwrap().parse().unwrap();
        let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (status, body)
    }

    #[test]
    fn serves_health_and_metrics() {
        let health = Arc::new(Health::default());
        let metrics = Arc::new(Metrics::new());
        metrics.rules_loaded.set(12);
        let sink = crate::output::StdoutSink::with_writer(
            "scratch",
            Box::new(std::io::sink()),
            crate::output::AlertFormat::default(),
            false,
        );
        let outputs = crate::output::Outputs::start(vec![Box::new(sink)], 4).unwrap();
        let outputs = Arc::new(std::sync::Mutex::new(Some(outputs)));
        let web = WebServer::start(
            "127.0.0.1",
            0,
            "/healthz",
            true,
            Shared {
                metrics,
                health: health.clone(),
                device: None,
                outputs: Some(outputs.clone()),
            },
        )
        .unwrap();
        let (status, body) = get(web.addr, "/healthz");
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("capture is not running"), "{body}");
        health.set_capturing(true);
        assert_eq!(get(web.addr, "/healthz").0, 200);
        let (status, body) = get(web.addr, "/metrics");
        assert_eq!(status, 200);
        assert!(body.contains("kestrel_rules_loaded 12"), "{body}");
        assert!(
            body.contains("kestrel_output_queue_capacity{output=\"scratch\"} 4"),
            "the outputs' counters are read at scrape time: {body}"
        );
        assert!(body.ends_with("# EOF\n"), "{body}");
        assert_eq!(get(web.addr, "/other").0, 404);
        web.stop();
    }
}
