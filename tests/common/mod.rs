//! Builders shared by the report tests: a realistic report and single results, stated per test.
#![allow(dead_code)]

/// Fixtures as builders, in the style of controller-rs: each test states only what it cares about.
pub mod fixtures {
    use std::collections::BTreeMap;

    use aks_spot_test::report::RunFacts;
    use aks_spot_test::report::model::{Assertion, CheckStatus, PreflightCheck, Status, SuiteRun};
    use serde_json::Value;

    use aks_spot_test::report::build_report;
    use aks_spot_test::report::model::{
        ClusterSnapshot, ClusterState, EvictionEvent, EvictionMonitoring, Framework, Remediation, RemediationAction,
        TestReport, TestResult,
    };

    #[derive(Debug, Clone)]
    pub struct TestResultBuilder(TestResult);

    impl TestResultBuilder {
        pub fn new(test_id: &str) -> Self {
            TestResultBuilder(TestResult {
                test_id: test_id.to_string(),
                name: test_id.to_string(),
                category: "uncategorised".to_string(),
                framework: Framework::Bash,
                suite: "tests/spot-behavior/run-all-tests.sh".to_string(),
                status: Status::Pass,
                raw_status: "pass".to_string(),
                duration_seconds: 1.0,
                error_message: None,
                assertions: vec![],
                evidence: BTreeMap::new(),
                reproduce_commands: vec![],
                output: None,
            })
        }
        pub fn terratest(mut self) -> Self {
            self.0.framework = Framework::Terratest;
            self.0.suite = "github.com/example/aks-spot/test".to_string();
            self.0.category = "infrastructure".to_string();
            self
        }
        pub fn bash(mut self) -> Self {
            self.0.framework = Framework::Bash;
            self.0.suite = "tests/spot-behavior/run-all-tests.sh".to_string();
            self
        }
        pub fn python(mut self) -> Self {
            self.0.framework = Framework::Python;
            self.0.suite = "tests/spot-behavior-python/test_vmss.py".to_string();
            self.0.raw_status = "passed".to_string();
            self
        }
        pub fn name(mut self, name: &str) -> Self {
            self.0.name = name.to_string();
            self
        }
        pub fn category(mut self, category: &str) -> Self {
            self.0.category = category.to_string();
            self
        }
        pub fn duration(mut self, seconds: f64) -> Self {
            self.0.duration_seconds = seconds;
            self
        }
        pub fn fail(mut self, message: &str) -> Self {
            self.0.status = Status::Fail;
            self.0.raw_status = if self.0.framework == Framework::Python { "failed" } else { "fail" }.to_string();
            self.0.error_message = Some(message.to_string());
            self
        }
        pub fn skip(mut self, reason: &str) -> Self {
            self.0.status = Status::Skip;
            self.0.raw_status = if self.0.framework == Framework::Python { "skipped" } else { "skip" }.to_string();
            self.0.error_message = Some(reason.to_string());
            self
        }
        /// The framework's own outcome word, e.g. `error`, `build-fail`, `timeout`.
        pub fn raw(mut self, raw_status: &str) -> Self {
            self.0.raw_status = raw_status.to_string();
            self
        }
        pub fn reproduce(mut self, command: &str) -> Self {
            self.0.reproduce_commands.push(command.to_string());
            self
        }
        pub fn assertion(mut self, description: &str, expected: Value, actual: Value) -> Self {
            let passed = expected == actual;
            self.0.assertions.push(Assertion { description: description.to_string(), expected, actual, passed });
            self
        }
        pub fn evidence(mut self, key: &str, value: Value) -> Self {
            self.0.evidence.insert(key.to_string(), value);
            self
        }
        pub fn output(mut self, output: &str) -> Self {
            self.0.output = Some(output.to_string());
            self
        }
        pub fn build(self) -> TestResult {
            self.0
        }
    }

    fn ts(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    fn snapshot(at: &str, nodes: u64, ready: u64, spot: u64, pods: u64, pending: u64) -> ClusterSnapshot {
        ClusterSnapshot {
            timestamp: Some(ts(at)),
            total_nodes: nodes,
            ready_nodes: ready,
            spot_nodes: spot,
            total_pods: pods,
            pending_pods: pending,
            node_pool_counts: [("system".to_string(), nodes - spot), ("spotgeneral1".to_string(), spot)].into(),
            ..ClusterSnapshot::default()
        }
    }

    /// Facts of a run with fixed identity and time, so snapshots are stable.
    pub fn facts() -> RunFacts {
        RunFacts {
            run_id: "550e8400-e29b-41d4-a716-446655440000".parse().unwrap(),
            timestamp: ts("2026-02-08T14:30:22Z"),
            cluster_name: "aks-spot-prod".to_string(),
            duration_seconds: 1847.0,
            tool_version: "0.1.0".to_string(),
            ..RunFacts::default()
        }
    }

    pub fn realistic_report() -> TestReport {
        let results = vec![
            TestResultBuilder::new("DIST-001")
                .bash()
                .name("Stateless services on spot nodes")
                .category("pod-distribution")
                .duration(3.2)
                .evidence("spot_pods", serde_json::json!(12))
                .build(),
            TestResultBuilder::new("EVICT-005")
                .bash()
                .name("PDB respected during drain")
                .category("eviction-behavior")
                .duration(15.3)
                .fail(
                    "PDB violation: drain succeeded despite minAvailable=50%\nExpected: drain blocked by PDB\nActual: all pods evicted",
                )
                .reproduce("kubectl get pdb -n robot-shop web-pdb -o yaml")
                .reproduce(
                    "kubectl drain aks-spotgeneral1-12345678-vmss000001 --ignore-daemonsets --delete-emptydir-data",
                )
                .output("\u{1b}[31mFAIL\u{1b}[0m EVICT-005")
                .build(),
            TestResultBuilder::new("TestAksSpotModuleValidation").terratest().duration(2.1).build(),
            TestResultBuilder::new("TestAksSpotModulePlan/spot_pools")
                .terratest()
                .duration(5.3)
                .fail("Error: timed out waiting for plan after 5m0s")
                .raw("timeout")
                .build(),
            TestResultBuilder::new("TestAksSpotModulePlan").terratest().duration(5.4).fail("subtest failed").build(),
            TestResultBuilder::new("test_vmss.py::test_autoscale_ranges")
                .python()
                .name("VMSS-004 autoscale ranges match config")
                .category("vmss-node-pool")
                .duration(8.7)
                .fail("Autoscale range mismatch for pool 'spotmemory1'\nExpected: min=0, max=15\nActual: min=0, max=20")
                .assertion("max count of spotmemory1", serde_json::json!(15), serde_json::json!(20))
                .assertion("min count of spotmemory1", serde_json::json!(0), serde_json::json!(0))
                .reproduce("az aks nodepool show -g rg-aks-spot --cluster-name aks-spot-prod -n spotmemory1")
                .build(),
            TestResultBuilder::new("test_vmss.py::test_zone_spread")
                .python()
                .name("VMSS-006 zone spread")
                .category("vmss-node-pool")
                .duration(0.2)
                .skip("only one zone in this region")
                .build(),
            TestResultBuilder::new("DIST-004")
                .bash()
                .name("Node affinity preference")
                .category("pod-distribution")
                .duration(4.1)
                .fail("Timeout waiting for pods: 3/5 ready after 300s")
                .build(),
        ];
        let mut f = facts();
        f.cluster_state = ClusterState {
            initial: Some(snapshot("2026-02-08T14:00:00Z", 18, 17, 12, 140, 2)),
            final_: Some(ClusterSnapshot {
                not_ready_nodes: vec!["aks-spotgeneral1-12345678-vmss000004".to_string()],
                ..snapshot("2026-02-08T14:33:00Z", 19, 18, 13, 150, 0)
            }),
        };
        f.eviction_monitoring = EvictionMonitoring {
            total_evictions: 1,
            eviction_rate_per_hour: 1.95,
            watched_seconds: 1840.0,
            events: vec![EvictionEvent {
                timestamp: ts("2026-02-08T14:15:33Z"),
                node: "aks-spotgeneral1-12345678-vmss000002".to_string(),
                pool: Some("spotgeneral1".to_string()),
                zone: Some("eastus-1".to_string()),
                reason: "SpotEviction".to_string(),
                message: "Spot VM preempted".to_string(),
            }],
            per_pool: [("spotgeneral1".to_string(), 1)].into(),
            gaps: vec!["14:20:01 to 14:20:31: watch reconnecting after 410 Gone".to_string()],
        };
        f.remediation = Remediation {
            actions_taken: 1,
            vmss_ghosts_deleted: 1,
            stuck_nodes_deleted: 0,
            details: vec![RemediationAction {
                timestamp: ts("2026-02-08T14:32:10Z"),
                action_type: "delete_vmss_ghost".to_string(),
                target: "aks-spotgeneral1-12345678-vmss_3".to_string(),
                success: true,
                details: "instance Failed for 8 minutes with no node".to_string(),
                dry_run: false,
            }],
        };
        f.preflight = vec![
            PreflightCheck {
                name: "cluster reachable".to_string(),
                status: CheckStatus::Ok,
                message: "v1.33.2".to_string(),
            },
            PreflightCheck {
                name: "python .env".to_string(),
                status: CheckStatus::Warn,
                message: "missing; defaults used".to_string(),
            },
        ];
        f.suite_runs = vec![SuiteRun {
            framework: Framework::Terratest,
            command: "go test -json ./...".to_string(),
            working_dir: "tests/terratest".to_string(),
            started: ts("2026-02-08T14:00:30Z"),
            duration_seconds: 312.0,
            exit_code: Some(1),
            signal: None,
            timed_out: false,
            log_file: Some("logs/terratest.log".to_string()),
            skipped_reason: None,
        }];
        f.notes = vec!["cordon on aks-spotgeneral1-12345678-vmss000001 restored from a crashed run".to_string()];
        build_report(results, f)
    }
}
