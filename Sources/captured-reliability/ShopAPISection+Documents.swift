import Foundation

/// Section h's checks of the two documents the API serves, by independent tools from PyPI in the
/// same venv as schemathesis: `/openapi.json` by `openapi-spec-validator` (OpenAPI 3.1), `/metrics` by
/// `prometheus_client`'s text-format parser, with every metric name of PRODUCT.md present.
extension ShopAPISection {
    /// The metric families PRODUCT.md names (the parser drops a counter's `_total`). Families the
    /// daemon creates on first use (PSP requests, webhook deliveries) are not required here.
    static let requiredMetricFamilies = [
        "captured_authorizations", "captured_capture_attempts", "captured_next_deadline_timestamp_seconds",
        "captured_reconcile_lag_seconds", "captured_alerts",
    ]

    static let documentCheck = """
        import json, sys, urllib.request
        from openapi_spec_validator import validate
        from prometheus_client.parser import text_string_to_metric_families
        base, token = sys.argv[1], sys.argv[2]
        document = json.load(urllib.request.urlopen(base + "/openapi.json", timeout=10))
        validate(document)
        request = urllib.request.Request(base + "/metrics", headers={"Authorization": "Bearer " + token})
        text = urllib.request.urlopen(request, timeout=10).read().decode("utf-8")
        families = list(text_string_to_metric_families(text))
        print(json.dumps({"openapi": document.get("openapi"), "paths": len(document.get("paths", {})),
            "families": sorted(f.name for f in families), "samples": sum(len(f.samples) for f in families)}))
        """

    func checkDocuments(workspace: Workspace, port: Int, token: String, report: inout SectionReport)
        async throws
    {
        guard let st = Self.schemathesis() else { return }  // fuzz() said why already
        let python = URL(fileURLWithPath: st).deletingLastPathComponent().appendingPathComponent("python3")
            .path
        let script = workspace.directory.appendingPathComponent("check-documents.py")
        try Self.documentCheck.write(to: script, atomically: true, encoding: .utf8)
        let result = try await Proc.run(
            python, [script.path, "http://127.0.0.1:\(port)", token], timeout: .seconds(60),
            logDirectory: workspace.directory)
        if result.status != 0, result.stderr.contains("No module named") {
            let message =
                "openapi-spec-validator or prometheus-client is missing beside schemathesis (.ci/run installs them): the documents were not checked"
            if suite.scale.name == "full" {
                report.violations.append(message)
            } else {
                report.notes.append(message)
            }
            return
        }
        guard result.status == 0,
            let line = result.stdout.split(separator: "\n").last,
            let summary = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            report.violations.append(
                "/openapi.json or /metrics failed its check: \(result.stderr.suffix(800))")
            return
        }
        let version = summary["openapi"] as? String ?? "?"
        report.expect(version.hasPrefix("3.1"), "/openapi.json declares OpenAPI \(version), not 3.1")
        let families = Set(summary["families"] as? [String] ?? [])
        let missing = Self.requiredMetricFamilies.filter { !families.contains($0) }
        report.expect(missing.isEmpty, "/metrics lacks \(missing.joined(separator: ", "))")
        report.figure(
            "documents",
            "/openapi.json valid OpenAPI \(version) (\(summary["paths"] as? Int ?? 0) paths); /metrics parsed: \(families.count) families, \(summary["samples"] as? Int ?? 0) samples"
        )
    }
}
