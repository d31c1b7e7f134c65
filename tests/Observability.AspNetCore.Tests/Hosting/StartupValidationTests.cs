using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Hosting;

public sealed class StartupValidationTests
{
    private static Exception BuildAndStart(IDictionary<string, string?> configuration, Action<ObservabilityOptions>? configure = null)
    {
        var builder = TestApp.CreateBuilder(configuration);
        builder.AddObservability(configure);
        return Record.Exception(() =>
        {
            using var app = builder.Build();
            app.UseObservability();
            app.StartAsync().GetAwaiter().GetResult();
            app.StopAsync().GetAwaiter().GetResult();
        })!;
    }

    [Fact]
    public void Invalid_header_name_stops_startup_naming_the_key_and_the_value()
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { ["Observability:RequestId:Header"] = "X Request Id" });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains("Observability:RequestId:Header", validation.Message, StringComparison.Ordinal);
        Assert.Contains("'X Request Id'", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_enum_value_stops_startup_naming_the_key_and_the_value()
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { ["Observability:Logging:Format"] = "Xml" });

        Assert.NotNull(ex);
        Assert.Contains("Observability:Logging:Format", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Xml", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serilog_level_name_for_own_endpoints_level_stops_startup_listing_the_names_it_takes()
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { ["Observability:Logging:OwnEndpointsLevel"] = "Verbose" });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains("Observability:Logging:OwnEndpointsLevel must be one of Trace, Debug, Information, Warning, Error, Critical, None", validation.Message, StringComparison.Ordinal);
        Assert.Contains("was 'Verbose'", validation.Message, StringComparison.Ordinal);
        Assert.Contains("Serilog's Verbose is Trace", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enum_value_set_in_code_outside_the_enum_stops_startup()
    {
        var ex = BuildAndStart(new Dictionary<string, string?>(), o => o.Logging.Format = (LogFormat)42);

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains("Observability:Logging:Format must be one of Json, Text; was '42'", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Misspelled_key_in_the_observability_section_stops_startup_naming_it()
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { ["Observability:Loging:Format"] = "Text" });

        Assert.NotNull(ex);
        Assert.Contains("Loging", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blank_sensitive_query_key_stops_startup_naming_its_index()
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { ["Observability:Logging:SensitiveQueryKeys:0"] = "token", ["Observability:Logging:SensitiveQueryKeys:1"] = " " });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains("Observability:Logging:SensitiveQueryKeys:1 must not be blank", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blank_service_name_stops_startup()
    {
        var ex = BuildAndStart(new Dictionary<string, string?>(), o => o.ServiceName = "  ");

        Assert.Contains("Observability:ServiceName", Assert.IsType<OptionsValidationException>(ex).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configure_delegate_runs_after_binding()
    {
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?> { ["Observability:ServiceName"] = "from-config" });
        builder.AddObservability(o => o.ServiceName = o.ServiceName + "+code");
        using var app = builder.Build();

        Assert.Equal("from-config+code", app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value.ServiceName);
    }

    [Fact]
    public void UseObservability_without_AddObservability_fails_saying_what_to_do()
    {
        var builder = TestApp.CreateBuilder();
        using var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.UseObservability());

        Assert.Contains("builder.AddObservability()", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseObservability_twice_fails_saying_what_to_do()
    {
        var builder = TestApp.CreateBuilder();
        builder.AddObservability();
        using var app = builder.Build();
        app.UseObservability();

        var ex = Assert.Throws<InvalidOperationException>(() => app.UseObservability());

        Assert.Contains("called twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddObservability_twice_fails_saying_what_to_do()
    {
        var builder = TestApp.CreateBuilder();
        builder.AddObservability();

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddObservability());

        Assert.Contains("called twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddObservability_works_on_a_non_web_host_builder()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" });
        builder.AddObservability();
        using var host = builder.Build();

        var logger = host.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger("worker");

        Assert.True(logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information));
        Assert.False(logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug));
    }

    [Fact]
    public void Serilog_is_the_only_logging_provider()
    {
        var builder = TestApp.CreateBuilder();
        builder.AddObservability();
        using var app = builder.Build();

        var provider = Assert.Single(app.Services.GetServices<Microsoft.Extensions.Logging.ILoggerProvider>());
        Assert.Equal("SerilogLoggerProvider", provider.GetType().Name);
    }
}

public sealed class MetricsOptionsValidationTests
{
    private static string StartupError(IDictionary<string, string?> configuration)
    {
        var builder = TestApp.CreateBuilder(configuration);
        builder.AddObservability();
        var ex = Record.Exception(() =>
        {
            using var app = builder.Build();
            app.UseObservability();
        });
        return Assert.IsType<OptionsValidationException>(ex).Message;
    }

    [Theory]
    [InlineData("Observability:Metrics:Path", "metrics", "Observability:Metrics:Path must start with '/'")]
    [InlineData("Observability:Metrics:Prefix", "9lives", "Observability:Metrics:Prefix must start with a letter")]
    [InlineData("Observability:Metrics:Prefix", "my-app", "was 'my-app'")]
    [InlineData("Observability:Metrics:AllowedNetworks:0", "10.0.0.0/33", "Observability:Metrics:AllowedNetworks:0 must be a network in CIDR notation")]
    [InlineData("Observability:Metrics:AllowedNetworks:0", "not-an-ip", "was 'not-an-ip'")]
    [InlineData("Observability:Metrics:DurationBuckets:0", "-1", "Observability:Metrics:DurationBuckets:0 must be positive")]
    [InlineData("Observability:Metrics:ExcludePaths:0", "health", "Observability:Metrics:ExcludePaths:0 must start with '/'")]
    [InlineData("Observability:Metrics:ExcludeMeters:0", " ", "Observability:Metrics:ExcludeMeters:0 must not be blank")]
    public void Bad_metrics_setting_stops_startup_naming_the_key_and_value(string key, string value, string expected)
    {
        var message = StartupError(new Dictionary<string, string?> { [key] = value });

        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duration_buckets_out_of_order_stop_startup()
    {
        var message = StartupError(new Dictionary<string, string?>
        {
            ["Observability:Metrics:DurationBuckets:0"] = "1",
            ["Observability:Metrics:DurationBuckets:1"] = "0.5",
        });

        Assert.Contains("Observability:Metrics:DurationBuckets:1 must be positive, finite and greater than the bucket before it; was 0.5", message, StringComparison.Ordinal);
    }
}
