using System.Text.Json.Nodes;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// The Prometheus Operator objects of <c>deploy/kubernetes/</c>, checked structurally (no cluster or CRDs here): kinds
/// and API versions, selectors that match the Deployment's pods and the Service, the scrape port and path the app
/// serves, one job name for both monitors, and a PrometheusRule whose groups are the rule file's.
/// </summary>
public sealed class KubernetesOperatorChecksTests
{
    private static JsonNode Manifest(string name) => Yaml.ParseFile(DeployFiles.Deploy("kubernetes/" + name))!;

    private static JsonNode PodTemplate => Manifest("deployment.yaml")["spec"]!["template"]!;

    private static JsonNode Container => Assert.Single(PodTemplate["spec"]!["containers"]!.AsArray())!;

    private static JsonNode ContainerPort => Assert.Single(Container["ports"]!.AsArray())!;

    [Theory]
    [InlineData("service.yaml", "v1", "Service")]
    [InlineData("servicemonitor.yaml", "monitoring.coreos.com/v1", "ServiceMonitor")]
    [InlineData("podmonitor.yaml", "monitoring.coreos.com/v1", "PodMonitor")]
    [InlineData("prometheusrule.yaml", "monitoring.coreos.com/v1", "PrometheusRule")]
    public void Each_object_has_its_api_version_and_kind(string file, string apiVersion, string kind)
    {
        var manifest = Manifest(file);

        Assert.Equal(apiVersion, manifest["apiVersion"]!.GetValue<string>());
        Assert.Equal(kind, manifest["kind"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(manifest["metadata"]!["name"]?.GetValue<string>()), $"{file}: no metadata.name");
    }

    [Fact]
    public void Service_monitor_scrapes_the_metrics_path_on_the_service_port_that_reaches_the_container()
    {
        var service = Manifest("service.yaml");
        var monitor = Manifest("servicemonitor.yaml");
        var podLabels = DeployFiles.ToDictionary(PodTemplate["metadata"]!["labels"]);

        // Service -> pods: its selector picks the Deployment's pods, its port targets the container's named port.
        AssertSelects(DeployFiles.ToDictionary(service["spec"]!["selector"]), podLabels, "the Service's selector");
        var servicePort = Assert.Single(service["spec"]!["ports"]!.AsArray())!;
        Assert.Equal(ContainerPort["name"]!.GetValue<string>(), servicePort["targetPort"]!.GetValue<string>());

        // ServiceMonitor -> Service: its selector picks the Service, its endpoint names the Service's port.
        AssertSelects(DeployFiles.ToDictionary(monitor["spec"]!["selector"]!["matchLabels"]), DeployFiles.ToDictionary(service["metadata"]!["labels"]), "the ServiceMonitor's selector");
        var endpoint = Assert.Single(monitor["spec"]!["endpoints"]!.AsArray())!;
        Assert.Equal(servicePort["name"]!.GetValue<string>(), endpoint["port"]!.GetValue<string>());
        AssertMetricsPath(endpoint["path"]!.GetValue<string>());
    }

    [Fact]
    public void Pod_monitor_scrapes_the_metrics_path_on_the_container_port_of_the_deployments_pods()
    {
        var monitor = Manifest("podmonitor.yaml");

        AssertSelects(DeployFiles.ToDictionary(monitor["spec"]!["selector"]!["matchLabels"]), DeployFiles.ToDictionary(PodTemplate["metadata"]!["labels"]), "the PodMonitor's selector");
        var endpoint = Assert.Single(monitor["spec"]!["podMetricsEndpoints"]!.AsArray())!;
        Assert.Equal(ContainerPort["name"]!.GetValue<string>(), endpoint["port"]!.GetValue<string>());
        AssertMetricsPath(endpoint["path"]!.GetValue<string>());
    }

    [Fact]
    public void Both_monitors_give_the_service_the_job_name_the_shipped_scrape_config_uses()
    {
        // The Operator's job: a ServiceMonitor's is the Service's name unless jobLabel names a Service label; a
        // PodMonitor's is namespace/name unless jobLabel names a pod label.
        var service = Manifest("service.yaml");
        var serviceMonitor = Manifest("servicemonitor.yaml");
        var podMonitor = Manifest("podmonitor.yaml");
        Assert.Null(serviceMonitor["spec"]!["jobLabel"]);
        var serviceMonitorJob = service["metadata"]!["name"]!.GetValue<string>();
        var podMonitorJob = DeployFiles.ToDictionary(PodTemplate["metadata"]!["labels"])[podMonitor["spec"]!["jobLabel"]!.GetValue<string>()];

        Assert.Equal(DeployStack.Job, serviceMonitorJob);
        Assert.Equal(DeployStack.Job, podMonitorJob);
    }

    [Fact]
    public void Prometheus_rule_groups_are_exactly_the_rule_files_groups()
    {
        AssertSameGroups(DeployFiles.AlertRules, DeployFiles.Deploy("kubernetes/prometheusrule.yaml"));
    }

    [Fact]
    public async Task Rendered_prometheus_rule_carries_the_rendered_rule_files_groups_for_a_prefix_and_objectives()
    {
        using var output = Infrastructure.TempDirectory.Create("obs-render");
        var result = await RenderedAssets.RunAsync("--prefix", "shop", "--availability", "99.5", "--out", output.Path);
        Assert.True(result.Succeeded, result.ToString());

        var rules = Path.Combine(output.Path, "prometheus", "alerts.yml");
        var prometheusRule = Path.Combine(output.Path, "kubernetes", "prometheusrule.yaml");
        AssertSameGroups(rules, prometheusRule);
        Assert.Contains("shop_http_requests_total", await File.ReadAllTextAsync(prometheusRule), StringComparison.Ordinal);
        Assert.Contains("ratio_rate1h / 0.005 > 14.4", await File.ReadAllTextAsync(prometheusRule), StringComparison.Ordinal);
    }

    private static void AssertSameGroups(string ruleFile, string prometheusRule)
    {
        var groups = Yaml.ParseFile(ruleFile)!["groups"]!;
        var spec = Yaml.ParseFile(prometheusRule)!["spec"]!.AsObject();

        Assert.Equal(["groups"], spec.Select(p => p.Key));
        Assert.True(JsonNode.DeepEquals(groups, spec["groups"]), $"{prometheusRule}: spec.groups differ from the groups of {ruleFile}");
        Assert.Equal(DeployFiles.RuleCount(ruleFile), spec["groups"]!.AsArray().Sum(g => g!["rules"]!.AsArray().Count));
    }

    private static void AssertSelects(IReadOnlyDictionary<string, string> selector, IReadOnlyDictionary<string, string> labels, string what)
    {
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
        {
            Assert.True(labels.TryGetValue(key, out var actual) && actual == value, $"{what} wants {key}={value}; the labels are {string.Join(", ", labels)}");
        }
    }

    private static void AssertMetricsPath(string path)
    {
        // The app's default Observability:Metrics:Path, which the Deployment's scrape annotation names too.
        Assert.Equal(new MetricsOptions().Path, path);
        Assert.Equal(path, DeployFiles.ToDictionary(PodTemplate["metadata"]!["annotations"])["prometheus.io/path"]);
    }
}
