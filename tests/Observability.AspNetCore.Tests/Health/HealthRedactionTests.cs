using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Observability.AspNetCore.Health;

namespace Observability.AspNetCore.Tests.Health;

public sealed class HealthRedactionTests
{
    private const string Marker = "s3cr3t-marker-7c2e";

    [Theory]
    [InlineData("Host=db;Username=app;Password=" + Marker + ";Database=orders", "Host=db;Username=app;Password=[Redacted];Database=orders")]
    [InlineData("server=db;user id=sa;pwd=" + Marker, "server=db;user id=sa;pwd=[Redacted]")]
    [InlineData("PASSWORD = '" + Marker + " with spaces';Host=db", "PASSWORD = [Redacted];Host=db")]
    [InlineData("cache:6379,password=" + Marker + ",ssl=true", "cache:6379,password=[Redacted],ssl=true")]
    [InlineData("connect to redis://default:" + Marker + "@cache:6379 failed", "connect to redis://default:[Redacted]@cache:6379 failed")]
    [InlineData("amqp://guest:" + Marker + "@rabbit/vhost", "amqp://guest:[Redacted]@rabbit/vhost")]
    [InlineData("api_key=" + Marker + "&x=1", "api_key=[Redacted]&x=1")]
    [InlineData("token: " + Marker, "token: [Redacted]")]
    [InlineData("Failed to connect to 127.0.0.1:5432", "Failed to connect to 127.0.0.1:5432")]
    public void Password_fragments_are_scrubbed_from_messages(string message, string expected)
    {
        Assert.Equal(expected, HealthMessageRedactor.Redact(message));
    }

    [Fact]
    public void Stack_frames_inside_a_message_are_dropped()
    {
        var message = "Boom\n   at Orders.Db.Open() in /src/Db.cs:line 12\n--- End of stack trace from previous location ---\n   at Orders.Check.Run()\nsecond line";

        Assert.Equal("Boom second line", HealthMessageRedactor.Redact(message));
    }

    [Fact]
    public void A_huge_message_is_cut()
    {
        Assert.True(HealthMessageRedactor.Redact(new string('x', 10_000))!.Length <= 501);
    }

    [Fact]
    public async Task Detailed_never_shows_a_password_a_check_put_in_its_message_or_description()
    {
        var connectionString = $"Host=db.internal;Username=orders;Password={Marker};Database=orders";
        await using var app = await HealthTestApp.StartAsync(c => c
            .AddCheck("throws", new ControlledCheck { Throw = new InvalidOperationException($"Cannot open '{connectionString}'") }, tags: ["ready"])
            .AddCheck("describes", new ControlledCheck { Status = HealthStatus.Degraded, Description = $"using {connectionString}" }, tags: ["ready"]));

        var responses = new[]
        {
            await app.GetAsync("/health"),
            await app.GetAsync("/health/live"),
            await app.GetAsync("/health/ready"),
            await app.GetAsync("/health/detailed"),
        };

        Assert.All(responses, r => Assert.DoesNotContain(Marker, r.Text, StringComparison.Ordinal));
        var detailed = responses[3];
        Assert.Contains("Password=[Redacted]", detailed.Check("throws").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("Password=[Redacted]", detailed.Check("describes").GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}
