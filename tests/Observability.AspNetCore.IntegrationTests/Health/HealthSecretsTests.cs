using System.Net;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Health;

/// <summary>
/// Passwords are unique markers; every response of every endpoint, healthy, failing and with a wrong password, is
/// searched for them.
/// </summary>
public sealed class HealthSecretsTests
{
    private static readonly string[] Paths = ["/health", "/health/live", "/health/ready", "/health/detailed", "/metrics"];

    private static async Task<List<Probe>> CollectAsync(HealthHost host)
    {
        var responses = new List<Probe>();
        foreach (var path in Paths)
        {
            responses.Add(await host.GetAsync(path));
        }

        return responses;
    }

    [Fact]
    public async Task No_health_response_contains_a_password_a_stack_trace_or_the_environment()
    {
        var password = "pw" + Guid.NewGuid().ToString("N");
        var wrongPassword = "wrong" + Guid.NewGuid().ToString("N");
        await using var postgres = await PostgresServer.StartAsync(password);
        await using var redis = await RedisServer.StartAsync(password);
        Assert.Contains(password, postgres.ConnectionString, StringComparison.Ordinal);
        Assert.Contains(password, redis.ConnectionString, StringComparison.Ordinal);

        var responses = new List<Probe>();
        await using (var wrong = await HealthHost.StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Health:Postgres:ConnectionString"] = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Password = wrongPassword }.ConnectionString,
            ["Observability:Health:Redis:ConnectionString"] = redis.ConnectionString.Replace(password, wrongPassword, StringComparison.Ordinal),
        }))
        {
            var failing = await CollectAsync(wrong);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.Single(p => p.Path == "/health/detailed").Status);
            responses.AddRange(failing);
        }

        await using var host = await HealthHost.StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Health:CacheMs"] = "100",
            ["Observability:Health:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Observability:Health:Redis:ConnectionString"] = redis.ConnectionString,
        });
        await Poll.UntilAsync(() => host.GetAsync("/health/ready"), p => p.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        responses.AddRange(await CollectAsync(host));

        await postgres.StopAsync();
        await redis.StopAsync();
        await Poll.UntilAsync(
            () => host.GetAsync("/health/detailed"),
            p => p.CheckStatus("postgres") == "Unhealthy" && p.CheckStatus("redis") == "Unhealthy",
            TimeSpan.FromSeconds(10));
        responses.AddRange(await CollectAsync(host));

        var path = Environment.GetEnvironmentVariable("PATH");
        foreach (var response in responses)
        {
            var everything = response.Headers + "\n" + response.Text;
            Assert.DoesNotContain(password, everything, StringComparison.Ordinal);
            Assert.DoesNotContain(wrongPassword, everything, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", response.Text, StringComparison.Ordinal);
            Assert.DoesNotContain(".cs:line", response.Text, StringComparison.Ordinal);
            if (!string.IsNullOrEmpty(path))
            {
                Assert.DoesNotContain(path, response.Text, StringComparison.Ordinal);
            }
        }

        // The failures were really reported (with their reasons), just without the secrets.
        var detailed = responses.Where(r => r.Path == "/health/detailed" && r.Status == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.True(detailed.Count >= 2);
        Assert.All(detailed, d => Assert.False(string.IsNullOrEmpty(d.CheckError("postgres")), d.ToString()));
    }
}
