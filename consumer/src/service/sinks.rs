//! The outputs a configuration enables, as sinks of [`crate::output`],
//! started behind their queues.

use crate::config::Config;
use crate::output::{AlertFormat, Outputs, Sink, StdoutSink};

/// The alert format the configuration asks for.
pub fn alert_format(c: &Config) -> AlertFormat {
    AlertFormat {
        json: c.json_output,
        include_output: c.json_include_output_property,
        include_tags: c.json_include_tags_property,
        iso8601_time: c.time_format_iso_8601,
    }
}

/// The enabled sinks, in a fixed order: stdout, file, syslog, program, http.
pub fn build(c: &Config) -> Result<Vec<Box<dyn Sink>>, String> {
    let fmt = alert_format(c);
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if c.stdout_output.enabled {
        sinks.push(Box::new(StdoutSink::new(fmt, c.buffered_outputs)));
    }
    for (on, key) in [
        (c.file_output.enabled, "file_output"),
        (c.syslog_output.enabled, "syslog_output"),
        (c.program_output.enabled, "program_output"),
        (c.http_output.enabled, "http_output"),
    ] {
        if on {
            return Err(format!("{key} is not available in this build"));
        }
    }
    if sinks.is_empty() {
        log::warn!("no output is enabled: alerts are counted in /metrics only");
    }
    Ok(sinks)
}

/// Builds and starts the enabled outputs.
pub fn start(c: &Config) -> Result<Outputs, String> {
    let sinks = build(c)?;
    Outputs::start(sinks, c.outputs_queue.capacity)
        .map_err(|e| format!("starting the outputs: {e}"))
}
