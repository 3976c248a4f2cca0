//! The outputs a configuration enables, as sinks of [`crate::output`],
//! started behind their queues.

use std::time::Duration;

use crate::config::Config;
use crate::output::{
    AlertFormat, FileSink, HttpOptions, HttpSink, Outputs, ProgramSink, Sink, StdoutSink,
    SyslogSink,
};

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
    let f = &c.file_output;
    if f.enabled {
        let sink = FileSink::open(&f.filename, f.keep_alive, fmt, c.buffered_outputs)
            .map_err(|e| format!("file_output: {}: {e}", f.filename.display()))?;
        sinks.push(Box::new(sink));
    }
    if c.syslog_output.enabled {
        let sink = SyslogSink::new(crate::output::syslog::DEFAULT_SYSLOG_SOCKET, fmt)
            .map_err(|e| format!("syslog_output: {e}"))?;
        sinks.push(Box::new(sink));
    }
    let p = &c.program_output;
    if p.enabled {
        let sink = ProgramSink::new(&p.program, p.keep_alive, fmt)
            .map_err(|e| format!("program_output: {}: {e}", p.program))?;
        sinks.push(Box::new(sink));
    }
    let h = &c.http_output;
    if h.enabled {
        let sink = HttpSink::new(HttpOptions {
            url: h.url.clone(),
            user_agent: Some(h.user_agent.clone()),
            timeout: Duration::from_millis(h.timeout_ms),
            max_retries: h.max_retries,
            keep_alive: h.keep_alive,
            echo: h.echo,
            format: AlertFormat { json: true, ..fmt },
            ..HttpOptions::default()
        })
        .map_err(|e| format!("http_output: {e}"))?;
        sinks.push(Box::new(sink));
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
