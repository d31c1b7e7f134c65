using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// A key the options do not have stops startup naming the full configuration key, at every depth: a section of the
/// tree, a nested section, an element of a list. Dictionaries take any key.
/// </summary>
public sealed class UnknownKeyTests
{
    private static Exception? BuildAndStart(IDictionary<string, string?> configuration) => TestApp.StartupError(configuration);

    private static string StartupError(string key, string value) =>
        Assert.IsType<OptionsValidationException>(BuildAndStart(new Dictionary<string, string?> { [key] = value })).Message;

    [Theory]
    [InlineData("Observability:Loging:Format", "Text", "Observability:Loging is not a setting; did you mean Logging?")]
    [InlineData("Observability:Metrics:Pth", "/x", "Observability:Metrics:Pth is not a setting; did you mean Path?")]
    [InlineData("Observability:Metrics:Path:Sub", "/x", "Observability:Metrics:Path:Sub is not a setting; Observability:Metrics:Path takes a single value.")]
    public void Unknown_key_in_a_section_stops_startup_naming_the_full_key(string key, string value, string expected)
    {
        Assert.Contains(expected, StartupError(key, value), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_key_in_a_nested_section_stops_startup_naming_the_full_key()
    {
        var message = StartupError("Observability:Health:Detailed:Acess", "Anonymous");

        Assert.Contains("Observability:Health:Detailed:Acess is not a setting; did you mean Access?", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Observability:SlowRequests:Routes:0:Rout", "/", "Observability:SlowRequests:Routes:0:Rout is not a setting; did you mean Route?")]
    [InlineData("Observability:Jobs:Jobs:0:Nme", "x", "Observability:Jobs:Jobs:0:Nme is not a setting; did you mean Name?")]
    [InlineData("Observability:Metrics:ExcludePaths:0:Path", "/x", "Observability:Metrics:ExcludePaths:0:Path is not a setting; Observability:Metrics:ExcludePaths:0 takes a single value.")]
    public void Unknown_key_in_a_list_element_stops_startup_naming_the_full_key(string key, string value, string expected)
    {
        Assert.Contains(expected, StartupError(key, value), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_key_is_named_without_its_value()
    {
        const string Secret = "Host=db;Password=s3cr3t";
        var message = StartupError("Observability:Health:Postgres:ConnectionStrin", Secret);

        Assert.Contains("Observability:Health:Postgres:ConnectionStrin is not a setting; did you mean ConnectionString?", message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_header_name_is_a_key_of_otlp_headers_and_a_misspelled_section_beside_it_is_named_without_its_value()
    {
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:4318",
            ["Observability:Otlp:Headers:x-api-key"] = "accepted-secret",
            ["Observability:Otlp:Headers:Authorization"] = "Bearer accepted",
            ["Observability:Otlp:Hedaers:x-api-key"] = "misplaced-secret",
        });

        var message = Assert.IsType<OptionsValidationException>(ex).Message;
        Assert.Contains("Observability:Otlp:Hedaers is not a setting; did you mean Headers?", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Observability:Otlp:Headers", message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Observability:Health:Postgres", "Host=db;Password=SECRETVALUE", "Observability:Health:Postgres is a section of settings")]
    [InlineData("Observability:Metrics:AllowedNetworks", "10.0.0.0/8,SECRETVALUE", "Observability:Metrics:AllowedNetworks is a list")]
    public void Text_where_a_section_or_a_list_belongs_stops_startup_naming_the_key_not_the_text(string key, string value, string expected)
    {
        var ex = TestApp.StartupError(new Dictionary<string, string?> { [key] = value });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains(expected, validation.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRETVALUE", ex!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_json_lists_and_sections_start()
    {
        // appsettings.json's "AllowedNetworks": [] and "Postgres": {} reach configuration as empty text.
        Assert.Null(TestApp.StartupError(new Dictionary<string, string?>
        {
            ["Observability:Metrics:AllowedNetworks"] = "",
            ["Observability:Health:Postgres"] = "",
        }));
    }

    [Fact]
    public void Known_keys_at_every_depth_and_any_otlp_header_start()
    {
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:Metrics:Path"] = "/metrics",
            ["Observability:Metrics:ExcludePaths:0"] = "/internal",
            ["Observability:Health:Detailed:Access"] = "Anonymous",
            ["Observability:Jobs:Jobs:0:Name"] = "nightly",
            ["Observability:Jobs:Jobs:0:SlowThresholdMs"] = "1000",
            ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:4318",
            ["Observability:Otlp:Headers:x-api-key"] = "secret",
            ["observability:logging:FORMAT"] = "Text",
        });

        Assert.Null(ex);
    }
}
