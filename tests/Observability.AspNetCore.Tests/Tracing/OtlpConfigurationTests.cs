using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Tests.Support;
using OpenTelemetry.Trace;

namespace Observability.AspNetCore.Tests.Tracing;

public sealed class OtlpConfigurationTests
{
    private static Exception? BuildAndStart(IDictionary<string, string?> configuration) => TestApp.StartupError(configuration);

    [Fact]
    public void Without_an_endpoint_nothing_of_tracing_is_registered()
    {
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "" });
        builder.AddObservability();

        Assert.DoesNotContain(builder.Services, d => d.ServiceType == typeof(TracerProvider));
        Assert.DoesNotContain(builder.Services, d => d.ServiceType.Namespace?.StartsWith("OpenTelemetry", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(builder.Services, d => d.ImplementationType?.Namespace == "Observability.AspNetCore.Tracing"
            && d.ServiceType != typeof(IValidateOptions<ObservabilityOptions>));
        Assert.Single(builder.Services, d => d.ServiceType == typeof(IDbContextOptionsConfiguration<>));
    }

    [Fact]
    public void With_an_endpoint_a_tracer_provider_is_registered()
    {
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?> { ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:4318" });
        builder.AddObservability();

        Assert.Contains(builder.Services, d => d.ServiceType == typeof(TracerProvider));
    }

    [Theory]
    [InlineData("Observability:Otlp:Endpoint", "collector:4318", "Observability:Otlp:Endpoint", "'collector:4318'")]
    [InlineData("Observability:Otlp:Endpoint", "ftp://collector", "Observability:Otlp:Endpoint", "'ftp://collector'")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url", "OTEL_EXPORTER_OTLP_ENDPOINT", "'not a url'")]
    [InlineData("Observability:Otlp:SamplingRatio", "1.5", "Observability:Otlp:SamplingRatio", "1.5")]
    public void A_bad_value_stops_startup_naming_the_key_and_the_value(string key, string value, string named, string shown)
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { [key] = value });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains(named, validation.Message, StringComparison.Ordinal);
        Assert.Contains(shown, validation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Observability:Otlp:Endpoint", "http://127.0.0.1:4318/v1/traces")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/otlp/v1/logs/")]
    [InlineData("Observability:Otlp:Endpoint", "https://user:TOKEN1@127.0.0.1:4318/v1/traces?key=TOKEN2")]
    public void An_http_endpoint_with_the_signal_path_stops_startup_as_it_would_export_to_the_path_twice(string key, string value)
    {
        var ex = TestApp.StartupError(new Dictionary<string, string?> { [key] = value, ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf" });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains($"{key} is the collector's base URL, without '/v1/traces' or '/v1/logs'", validation.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:4318", validation.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("TOKEN", validation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Observability:Otlp:Protocol", "Observability:Otlp:Protocol")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")]
    public void An_unknown_protocol_stops_startup_naming_where_it_came_from(string key, string named)
    {
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:4318",
            [key] = "http/json",
        });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains(named, validation.Message, StringComparison.Ordinal);
        Assert.Contains("'http/json'", validation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Observability:Otlp:Logs", "true", "Observability:Otlp:Logs")]
    [InlineData("OTEL_LOGS_EXPORTER", "otlp", "OTEL_LOGS_EXPORTER")]
    public void Logs_over_otlp_without_an_endpoint_stops_startup_naming_the_setting(string key, string value, string named)
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { [key] = value, ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "" });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains(named, validation.Message, StringComparison.Ordinal);
        Assert.Contains("Observability:Otlp:Endpoint", validation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("true", null, true)]
    [InlineData(null, "otlp", true)]
    [InlineData(null, "console,otlp", true)]
    [InlineData(null, "none", false)]
    [InlineData("false", "otlp", false)]
    public void Logs_over_otlp_is_registered_only_when_the_setting_or_otel_logs_exporter_asks_for_it(string? setting, string? variable, bool registered)
    {
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?>
        {
            ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:4318",
            ["Observability:Otlp:Logs"] = setting,
            ["OTEL_LOGS_EXPORTER"] = variable,
        });
        builder.AddObservability();

        Assert.Equal(registered, builder.Services.Any(d => d.ServiceType == typeof(Observability.AspNetCore.Core.IEventExportSink)));
    }

    [Fact]
    public void A_bad_header_value_is_named_by_its_header_and_never_shown()
    {
        const string Secret = "s3cr3t-api-key,second";
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:4318",
            ["Observability:Otlp:Headers:x-api-key"] = Secret,
        });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains("Observability:Otlp:Headers:x-api-key", validation.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Headers_given_as_one_text_stop_startup_naming_the_key_and_never_showing_the_text()
    {
        // The OTEL name=value form written under the section's own key: the binder's message would quote it.
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:4318",
            ["Observability:Otlp:Headers"] = "x-honeycomb-team=hcSECRET123",
        });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains("Observability:Otlp:Headers", validation.Message, StringComparison.Ordinal);
        Assert.Contains("OTEL_EXPORTER_OTLP_HEADERS", validation.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", ex!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("garbageSECRET", "entry 1 of 1")]
    [InlineData("x-api-key=SECRET1,,other=SECRET2", "entry 2 of 3")]
    [InlineData("x-api-key=SECRET1,bad name=SECRET2", "entry 2 of 2")]
    [InlineData("x-api-key=SECRET1%0D%0Ax-injected=SECRET2", "entry 1 of 1")]
    public void A_malformed_otel_headers_variable_stops_startup_naming_it_and_never_showing_values(string headers, string entry)
    {
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = headers,
        });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains("OTEL_EXPORTER_OTLP_HEADERS", validation.Message, StringComparison.Ordinal);
        Assert.Contains(entry, validation.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", validation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x-api-key=abc,Authorization=Bearer%20xyz")]
    [InlineData(" x-api-key = a=b ")]
    [InlineData("x-api-key=abc,")]
    [InlineData("x-api-key=abc%0A")]
    public void A_well_formed_otel_headers_variable_starts(string headers)
    {
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = headers,
        });

        Assert.Null(ex);
    }

    [Fact]
    public void Observability_headers_replace_a_malformed_otel_headers_variable_so_it_is_not_checked()
    {
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = "garbage",
            ["Observability:Otlp:Headers:x-api-key"] = "abc",
        });

        Assert.Null(ex);
    }

    [Fact]
    public void Otel_service_name_is_the_service_of_log_events_when_observability_names_none()
    {
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?> { ["OTEL_SERVICE_NAME"] = "orders-api" });
        builder.AddObservability();
        using var app = builder.Build();

        Assert.Equal("orders-api", app.Services.GetRequiredService<Observability.AspNetCore.Core.ServiceIdentity>().Name);
    }

    [Fact]
    public void Observability_service_name_wins_over_otel_service_name()
    {
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = "orders-api",
            ["Observability:ServiceName"] = "billing-api",
        });
        builder.AddObservability();
        using var app = builder.Build();

        Assert.Equal("billing-api", app.Services.GetRequiredService<Observability.AspNetCore.Core.ServiceIdentity>().Name);
    }
}
