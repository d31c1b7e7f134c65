using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Health;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Health;

public sealed class HealthValidationTests
{
    private const string Marker = "pw-4f7c1a9e-never-shown";

    private static Exception? BuildAndStart(IDictionary<string, string?> configuration, Action<WebApplicationBuilder>? configureBuilder = null) =>
        TestApp.StartupError(configuration, configureBuilder);

    private static string Fails(IDictionary<string, string?> configuration, Action<WebApplicationBuilder>? configureBuilder = null)
    {
        var ex = BuildAndStart(configuration, configureBuilder);
        return Assert.IsType<OptionsValidationException>(ex).Message;
    }

    [Theory]
    [InlineData("Observability:Health:Path", "health", "Observability:Health:Path must start with '/'", "'health'")]
    [InlineData("Observability:Health:Path", "/health check", "Observability:Health:Path must start with '/'", "'/health check'")]
    [InlineData("Observability:Health:TimeoutMs", "0", "Observability:Health:TimeoutMs must be between 1 and 300000", "was 0")]
    [InlineData("Observability:Health:CacheMs", "-1", "Observability:Health:CacheMs must be between 0 and 3600000", "was -1")]
    [InlineData("Observability:Health:PublishIntervalMs", "10", "Observability:Health:PublishIntervalMs must be 0 (off) or at least 100", "was 10")]
    [InlineData("Observability:Health:ShutdownDelayMs", "-5", "Observability:Health:ShutdownDelayMs must be >= 0", "was -5")]
    [InlineData("Observability:Health:Postgres:TimeoutMs", "0", "Observability:Health:Postgres:TimeoutMs must be between 1 and 300000", "was 0")]
    [InlineData("Observability:Health:Redis:TimeoutMs", "-1", "Observability:Health:Redis:TimeoutMs must be between 1 and 300000", "was -1")]
    public void A_bad_value_stops_startup_naming_the_key_and_the_value(string key, string value, string expected, string shown)
    {
        var message = Fails(new Dictionary<string, string?> { [key] = value });

        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains(shown, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shutdown_delay_at_or_above_the_host_shutdown_timeout_stops_startup()
    {
        var message = Fails(
            new Dictionary<string, string?> { ["Observability:Health:ShutdownDelayMs"] = "10000" },
            b => b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10)));

        Assert.Contains("Observability:Health:ShutdownDelayMs must be less than the host's shutdown timeout (HostOptions.ShutdownTimeout, 10000 ms", message, StringComparison.Ordinal);
        Assert.Contains("was 10000", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shutdown_delay_below_the_host_shutdown_timeout_starts()
    {
        Assert.Null(BuildAndStart(new Dictionary<string, string?> { ["Observability:Health:ShutdownDelayMs"] = "5000" }));
    }

    [Theory]
    [InlineData("Observability:Health:Postgres:ConnectionStringName is 'Orders', but ConnectionStrings:Orders is not set.", "Observability:Health:Postgres:ConnectionStringName=Orders")]
    [InlineData("Observability:Health:Redis:ConnectionStringName is 'Cache', but ConnectionStrings:Cache is not set.", "Observability:Health:Redis:ConnectionStringName=Cache")]
    [InlineData(
        "Observability:Health:Postgres:ConnectionStringName ('Orders') and Observability:Health:Postgres:ConnectionString are both set",
        "ConnectionStrings:Orders=Host=db",
        "Observability:Health:Postgres:ConnectionStringName=Orders",
        "Observability:Health:Postgres:ConnectionString=Host=db")]
    [InlineData(
        "Observability:Health:Detailed:Policy must name an authorization policy when Observability:Health:Detailed:Access is Policy; was ''",
        "Observability:Health:Detailed:Access=Policy")]
    [InlineData(
        "Observability:Health:Detailed:Policy is 'Operators', but Observability:Health:Detailed:Access is 'Localhost'",
        "Observability:Health:Detailed:Policy=Operators")]
    [InlineData("Observability:Health:Path '/ops' maps '/ops/live', which is already Observability:Metrics:Path.", "Observability:Health:Path=/ops", "Observability:Metrics:Path=/ops/live")]
    public void Settings_that_cannot_work_together_stop_startup_naming_the_keys(string expected, params string[] settings)
    {
        // Each setting is "key=value"; keys have no '=', values may.
        var configuration = settings.ToDictionary(kv => kv[..kv.IndexOf('=', StringComparison.Ordinal)], kv => (string?)kv[(kv.IndexOf('=', StringComparison.Ordinal) + 1)..]);

        var message = Fails(configuration);

        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_connection_string_stops_startup_without_echoing_the_password()
    {
        var message = Fails(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Orders"] = $"Host=db;Password={Marker};NoSuchKeyword=1",
            ["Observability:Health:Postgres:ConnectionStringName"] = "Orders",
            ["Observability:Health:Redis:ConnectionString"] = $"cache:6379,password={Marker},noSuchOption=1",
        });

        Assert.Contains("ConnectionStrings:Orders (named by Observability:Health:Postgres:ConnectionStringName) is not a valid PostgreSQL connection string", message, StringComparison.Ordinal);
        Assert.Contains("Observability:Health:Redis:ConnectionString is not a valid StackExchange.Redis connection string", message, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Observability:Health:Postgres:ConnectionString", "Host=127.0.0.1;Password=hun;terTAIL=x", "PostgreSQL")]
    [InlineData("Observability:Health:Postgres:ConnectionString", "Host=127.0.0.1;PSW=hun;terTAIL=x", "PostgreSQL")]
    [InlineData("Observability:Health:Postgres:ConnectionString", "Host=127.0.0.1;PWD=hun;terTAIL=x", "PostgreSQL")]
    [InlineData("Observability:Health:Redis:ConnectionString", "127.0.0.1:6379,password=hun,terTAIL=x", "StackExchange.Redis")]
    public void A_password_split_at_its_separator_is_not_echoed_by_the_drivers_message(string key, string connectionString, string kind)
    {
        // An unquoted ';' (PostgreSQL) or ',' (Redis) in a password makes its tail look like a keyword, which the
        // driver's message then names (Npgsql in lower case).
        var message = Fails(new Dictionary<string, string?> { [key] = connectionString });

        Assert.Contains($"{key} is not a valid {kind} connection string", message, StringComparison.Ordinal);
        Assert.Contains("the password's own tail", message, StringComparison.Ordinal);
        Assert.DoesNotContain("terTAIL", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_bad_keyword_before_the_password_is_still_named()
    {
        var message = Fails(new Dictionary<string, string?>
        {
            ["Observability:Health:Postgres:ConnectionString"] = "Host=127.0.0.1;Hots=db;Password=secret",
        });

        Assert.Contains("hots", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_unknown_detailed_access_mode_stops_startup_naming_it()
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { ["Observability:Health:Detailed:Access"] = "Public" });

        Assert.NotNull(ex);
        Assert.Contains("Observability:Health:Detailed:Access", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Public", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelled_key_in_the_health_section_stops_startup_naming_it()
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { ["Observability:Health:TimoutMs"] = "1000" });

        Assert.NotNull(ex);
        Assert.Contains("TimoutMs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_access_without_authorization_services_stops_startup()
    {
        var ex = BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:Health:Detailed:Access"] = "Policy",
            ["Observability:Health:Detailed:Policy"] = "Operators",
        });
        var message = Assert.IsType<InvalidOperationException>(ex).Message;

        Assert.Contains("Observability:Health:Detailed:Access is Policy, but no authorization services are registered", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_access_naming_an_unregistered_policy_stops_startup()
    {
        var ex = BuildAndStart(
            new Dictionary<string, string?>
            {
                ["Observability:Health:Detailed:Access"] = "Policy",
                ["Observability:Health:Detailed:Policy"] = "Operatrs",
            },
            b => b.Services.AddAuthorization(o => o.AddPolicy("Operators", p => p.RequireAuthenticatedUser())));
        var message = Assert.IsType<InvalidOperationException>(ex).Message;

        Assert.Contains("Observability:Health:Detailed:Policy names the authorization policy 'Operatrs', which is not registered", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disabled_health_skips_every_health_rule()
    {
        Assert.Null(BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:Health:Enabled"] = "false",
            ["Observability:Health:Postgres:ConnectionStringName"] = "Missing",
        }));
    }

    [Fact]
    public void Validator_accepts_the_defaults()
    {
        var configuration = new ConfigurationBuilder().Build();
        var validator = new HealthOptionsValidator(configuration, Options.Create(new HostOptions()));

        Assert.True(validator.Validate(null, new ObservabilityOptions()).Succeeded);
    }
}
