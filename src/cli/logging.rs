//! Logging setup: verbosity flags to a tracing-subscriber filter writing to stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use super::validate::Verbosity;

/// Installs the stderr logger once; later calls (tests, a second dispatch) keep the first.
///
/// HTTP crates (hyper, reqwest, h2, rustls) never go below info: at debug and trace they can print request
/// headers, and those carry bearer tokens.
pub fn init_logging(verbosity: Verbosity) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::new(filter(verbosity)))
        // Colour codes only for a person; logs piped to a file or CI stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(verbosity >= Verbosity::Debug)
        .without_time()
        .try_init();
}

fn filter(verbosity: Verbosity) -> &'static str {
    match verbosity {
        // kube-client logs each failed request at error level; the command's own error says the same
        // with the server and context named, so its copy only shows with -v.
        Verbosity::Quiet => "error,kube_client=off",
        Verbosity::Normal => "warn,aks_spot_test=info,kube_client=off",
        Verbosity::Debug => "warn,aks_spot_test=debug,kube=info,kube_client=info",
        Verbosity::Trace => "info,aks_spot_test=trace,kube=debug,kube_client=debug",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_keep_http_crates_quiet() {
        for verbosity in [Verbosity::Quiet, Verbosity::Normal, Verbosity::Debug, Verbosity::Trace] {
            let text = filter(verbosity);
            EnvFilter::builder().parse(text).expect("valid filter");
            for noisy in ["hyper", "reqwest", "h2", "rustls"] {
                assert!(!text.contains(noisy), "{text} names {noisy}");
            }
            // The catch-all directive is at most info, so header dumps at debug/trace never show.
            let catch_all = text.split(',').next().unwrap_or_default();
            assert!(["error", "warn", "info"].contains(&catch_all), "{text}");
        }
    }
}
