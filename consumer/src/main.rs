//! The `kestrel` binary: logging, the arguments, and the exit status; the
//! command line itself is [`kestrel::cli`].

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kestrel::cli::{self, Cli};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format(|buf, record| {
            writeln!(
                buf,
                "kestrel: {}: {}",
                record.level().as_str().to_lowercase(),
                record.args()
            )
        })
        .init();
    match cli::run(&Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("kestrel: error: {msg}");
            }
            ExitCode::FAILURE
        }
    }
}
