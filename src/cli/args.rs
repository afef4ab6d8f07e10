//! The command line as clap sees it: every subcommand and flag, before validation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Environment and exit codes, shown under the root `--help`; the variables are read by `config::env`.
const AFTER_HELP: &str = "\
Environment (over the config file, under flags):
  AKS_SPOT_TEST_CONFIG        config file, as --config
  AKS_SPOT_TEST_OUTPUT_DIR    reports.output_dir
  AKS_SPOT_TEST_CONTEXT       cluster.context
  AKS_SPOT_TEST_CLUSTER_NAME  cluster.name
  AKS_SPOT_TEST_NO_REMEDIATE  1/true/yes: detect only
  AKS_SPOT_TEST_FORMATS       reports.formats, comma separated
  KUBECONFIG                  kubeconfig files, several joined by ':'

Exit codes: 0 all tests passed, 1 test failures, 2 tool or cluster error, 3 configuration or usage error.";

/// Tests an AKS spot cluster end to end and tells the truth about it.
#[derive(Debug, Parser)]
#[command(name = "aks-spot-test", version, about, long_about = None, propagate_version = true, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration file (YAML); built-in defaults when absent.
    #[arg(long, global = true, env = "AKS_SPOT_TEST_CONFIG", hide_env_values = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Kubeconfig file; KUBECONFIG (several paths allowed) and ~/.kube/config otherwise.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use instead of the current one.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// More output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors and the final summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run pre-flight, the three suites, remediation and reports (the main command).
    Run(RunArgs),
    /// Rebuild reports from a JSON report, or from suites' existing outputs.
    Report(ReportArgs),
    /// Find and fix VMSS ghost instances and stuck NotReady nodes.
    Remediate(RemediateArgs),
    /// Watch spot evictions continuously and print the rate.
    Monitor(MonitorArgs),
    /// Print one cluster snapshot.
    Snapshot(SnapshotArgs),
    /// Run the whole pipeline against a simulated AKS cluster started in-process.
    Demo(DemoArgs),
    /// Run a simulated AKS cluster (Kubernetes API + ARM Compute) in the foreground.
    Sim(SimArgs),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// No remediation: change nothing in the cluster or Azure (`remediate --dry-run` shows what it would do).
    #[arg(long)]
    pub no_remediate: bool,
    /// Do not run the Terratest (Go) suite.
    #[arg(long)]
    pub skip_terratest: bool,
    /// Do not run the Bash suite.
    #[arg(long)]
    pub skip_bash: bool,
    /// Do not run the Python suite.
    #[arg(long)]
    pub skip_python: bool,
    /// Open the HTML report when done.
    #[arg(long)]
    pub open_html: bool,
    /// Where reports and suite logs go.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReportArgs {
    /// An earlier JSON report to render again.
    #[arg(value_name = "REPORT_JSON", conflicts_with_all = ["terratest", "bash", "pytest"])]
    pub report: Option<PathBuf>,
    /// Saved `go test -json` output.
    #[arg(long, value_name = "FILE")]
    pub terratest: Option<PathBuf>,
    /// The Bash suite's results directory (results/*.json).
    #[arg(long, value_name = "DIR")]
    pub bash: Option<PathBuf>,
    /// A pytest-json-report file.
    #[arg(long, value_name = "FILE")]
    pub pytest: Option<PathBuf>,
    /// Where the reports go.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Formats to write, comma separated.
    #[arg(long, value_delimiter = ',', value_name = "FORMATS")]
    pub format: Vec<FormatArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Json,
    Html,
    Markdown,
    Junit,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RemediateArgs {
    /// Say exactly what would be done, and do nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputArg {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args, Clone, Default)]
pub struct MonitorArgs {
    /// Seconds between rate summaries.
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<u64>,
    /// Stop after this many seconds (runs until Ctrl-C otherwise).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputArg::Table)]
    pub output: OutputArg,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SnapshotArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputArg::Table)]
    pub output: OutputArg,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DemoArgs {
    /// Where reports go (a fresh temporary directory otherwise).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SimArgs {
    /// Built-in scenario name (`default`, `large`, `single-zone`) or a scenario YAML file.
    #[arg(long, default_value = "default", value_name = "NAME|FILE")]
    pub scenario: String,
    /// Port of the Kubernetes API (0 picks a free one).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub port: u16,
    /// Where to write the kubeconfig for the simulated cluster.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Append one line per request (method, path, status) to this file.
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}
