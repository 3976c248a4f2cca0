//! `http_output`: each alert POSTed as Falco's alert JSON object
//! (`Content-Type: application/json`), the body falcosidekick and other
//! Falco webhooks accept.
//!
//! - the JSON is always sent, whatever `json_output` says for the other
//!   outputs (Falco's docs ask for `json_output: true` with falcosidekick;
//!   Kestrel does not make the operator remember); its
//!   `json_include_*` switches still apply;
//! - one [`ureq::Agent`] keeps its connections alive and reuses them
//!   ([`HttpOptions::keep_alive`]);
//! - every attempt is bounded by [`HttpOptions::timeout`]; a transport
//!   error, a timeout, 408, 429 or a 5xx answer is retried up to
//!   [`HttpOptions::max_retries`] times after a back-off that doubles from
//!   [`HttpOptions::retry_backoff`] up to [`HttpOptions::max_backoff`]; any
//!   other non-2xx answer fails the alert at once (the receiver refuses it;
//!   sending it again will not help);
//! - `http://`, and `https://` with the cargo feature `tls` (on by
//!   default): rustls, verifying the server against the webpki roots
//!   (Mozilla's list, built in); Falco's `insecure`, `ca_*` and mTLS
//!   options are not offered.  Without the feature an `https://` URL is an
//!   error at start-up.

use std::io;
use std::time::Duration;

use ureq::Agent;

use super::alert::{write_json, AlertFormat};
use super::Sink;
use crate::rules::format::Alert;

/// The settings of the HTTP output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Where alerts are POSTed (`http://host:port/path`).
    pub url: String,
    /// `User-Agent` header (Falco's default is `falcosecurity/falco`);
    /// `None` sends `kestrel/<version>`.
    pub user_agent: Option<String>,
    /// Bound on one attempt: connecting, sending, and reading the answer.
    pub timeout: Duration,
    /// Attempts after the first one, for errors worth retrying.
    pub max_retries: u32,
    /// Back-off before the first retry; doubles for each further one.
    pub retry_backoff: Duration,
    /// Longest back-off.
    pub max_backoff: Duration,
    /// Keep connections open between alerts and reuse them.
    pub keep_alive: bool,
    /// Print the receiver's answers on standard output (Falco's `echo`).
    pub echo: bool,
    /// Which optional keys the JSON object carries (`json` is ignored: the
    /// body is always JSON).
    pub format: AlertFormat,
}

impl Default for HttpOptions {
    /// No URL; 5 s per attempt, 3 retries from 100 ms up to 2 s,
    /// connections kept alive.
    fn default() -> Self {
        HttpOptions {
            url: String::new(),
            user_agent: None,
            timeout: Duration::from_secs(5),
            max_retries: 3,
            retry_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            keep_alive: true,
            echo: false,
            format: AlertFormat {
                json: true,
                ..AlertFormat::default()
            },
        }
    }
}

impl HttpOptions {
    /// Back-off before retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        self.retry_backoff
            .saturating_mul(1 << retry.saturating_sub(1).min(20))
            .min(self.max_backoff)
    }
}

/// Alerts POSTed to a webhook.
pub struct HttpSink {
    agent: Agent,
    opts: HttpOptions,
    body: Vec<u8>,
}

/// What one attempt came to.
enum Attempt {
    Done,
    Retry(String),
    Fail(String),
}

impl HttpSink {
    /// Checks the URL and builds the client.  Nothing is sent yet.
    pub fn new(opts: HttpOptions) -> io::Result<HttpSink> {
        let bad = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("http_output url {:?}: {why}", opts.url),
            )
        };
        let lower = opts.url.to_ascii_lowercase();
        let https = lower.starts_with("https://");
        if https && !cfg!(feature = "tls") {
            return Err(bad(
                "https is not supported by this build (cargo feature `tls`); use http://",
            ));
        }
        let scheme_len = if https {
            "https://".len()
        } else {
            "http://".len()
        };
        if !(https || lower.starts_with("http://")) || lower.len() <= scheme_len {
            return Err(bad("expected http://host[:port][/path]"));
        }
        if opts.url.parse::<ureq::http::Uri>().is_err() {
            return Err(bad("not a valid URL"));
        }
        let user_agent = opts
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("kestrel/{}", env!("CARGO_PKG_VERSION")));
        let idle = if opts.keep_alive { 4 } else { 0 };
        let config = Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(user_agent)
            .max_idle_connections(idle)
            .max_idle_connections_per_host(idle)
            .build();
        Ok(HttpSink {
            agent: config.into(),
            opts,
            body: Vec::with_capacity(2048),
        })
    }

    fn attempt(&self) -> Attempt {
        let result = self
            .agent
            .post(&self.opts.url)
            .header("Content-Type", "application/json")
            .send(&self.body[..]);
        match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                // Read the answer to the end so the connection can be reused.
                let answer = resp.body_mut().read_to_string().unwrap_or_default();
                if self.opts.echo && !answer.is_empty() {
                    println!("{answer}");
                }
                match status {
                    200..=299 => Attempt::Done,
                    408 | 429 | 500..=599 => Attempt::Retry(format!("answered {status}")),
                    _ => Attempt::Fail(format!("answered {status}")),
                }
            }
            Err(e @ (ureq::Error::BadUri(_) | ureq::Error::Http(_))) => {
                Attempt::Fail(e.to_string())
            }
            Err(e) => Attempt::Retry(e.to_string()),
        }
    }
}

impl Sink for HttpSink {
    fn name(&self) -> &str {
        "http"
    }

    fn deliver(&mut self, alert: &Alert) -> io::Result<()> {
        self.body.clear();
        write_json(&mut self.body, alert, &self.opts.format)?;
        let mut retry = 0;
        loop {
            let why = match self.attempt() {
                Attempt::Done => return Ok(()),
                Attempt::Fail(why) => {
                    return Err(io::Error::other(format!("POST {}: {why}", self.opts.url)))
                }
                Attempt::Retry(why) => why,
            };
            if retry >= self.opts.max_retries {
                return Err(io::Error::other(format!(
                    "POST {}: {why} (after {} attempt(s))",
                    self.opts.url,
                    retry + 1
                )));
            }
            retry += 1;
            std::thread::sleep(self.opts.backoff(retry));
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_at_start() {
        #[cfg(not(feature = "tls"))]
        {
            let e = HttpSink::new(HttpOptions {
                url: "https://x/".into(),
                ..Default::default()
            })
            .err()
            .expect("https refused without tls");
            assert!(e.to_string().contains("https is not supported"), "{e}");
        }
        for (url, why) in [
            ("ftp://x/", "expected http://"),
            ("http://", "expected http://"),
            ("http://bad host/", "not a valid URL"),
        ] {
            let e = HttpSink::new(HttpOptions {
                url: url.into(),
                ..Default::default()
            })
            .err()
            .unwrap_or_else(|| panic!("{url} accepted"));
            assert!(e.to_string().contains(why), "{url}: {e}");
            assert!(e.to_string().contains(url), "{url}: {e}");
        }
        assert!(HttpSink::new(HttpOptions {
            url: "http://127.0.0.1:2801/".into(),
            ..Default::default()
        })
        .is_ok());
        #[cfg(feature = "tls")]
        {
            assert!(HttpSink::new(HttpOptions {
                url: "https://127.0.0.1:2801/".into(),
                ..Default::default()
            })
            .is_ok());
        }
    }

    #[cfg(feature = "tls")]
    #[test]
    fn https_speaks_tls() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}/", l.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut first = [0u8; 1];
            c.read_exact(&mut first).unwrap();
            // Not TLS back: the client must refuse it.
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            first[0]
        });
        let mut sink = HttpSink::new(HttpOptions {
            url,
            max_retries: 0,
            timeout: Duration::from_secs(10),
            ..Default::default()
        })
        .unwrap();
        let alert = super::super::alert::tests::sample_alert(1);
        assert!(sink.deliver(&alert).is_err());
        // 0x16: a TLS handshake record (the ClientHello).
        assert_eq!(server.join().unwrap(), 0x16);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let o = HttpOptions::default();
        assert_eq!(o.backoff(1), Duration::from_millis(100));
        assert_eq!(o.backoff(2), Duration::from_millis(200));
        assert_eq!(o.backoff(4), Duration::from_millis(800));
        assert_eq!(o.backoff(5), Duration::from_millis(1600));
        assert_eq!(o.backoff(6), Duration::from_secs(2));
        assert_eq!(o.backoff(60), Duration::from_secs(2));
    }
}
