//! The `kestrel` binary: logging, the arguments, and the exit status; the
//! command line itself is [`kestrel::cli`].

use std::process::ExitCode;

use clap::Parser;
use kestrel::cli::{self, Cli};

fn main() -> ExitCode {
    kestrel::logging::init();
    match cli::run(&Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("kestrel: error: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}
