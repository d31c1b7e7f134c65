using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Tests.Health;

public sealed class DetailedAccessTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public async Task By_default_detailed_answers_loopback_callers(string address)
    {
        await using var app = await HealthTestApp.StartAsync();

        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/detailed", remote: address)).Status);
    }

    [Theory]
    [InlineData("203.0.113.9")]
    [InlineData("10.0.0.5")]
    [InlineData("2001:db8::1")]
    public async Task By_default_detailed_is_404_for_remote_callers_while_the_probes_stay_open(string address)
    {
        await using var app = await HealthTestApp.StartAsync();

        var detailed = await app.GetAsync("/health/detailed", remote: address);

        Assert.Equal(HttpStatusCode.NotFound, detailed.Status);
        Assert.Equal("", detailed.Text);
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health", remote: address)).Status);
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/live", remote: address)).Status);
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/ready", remote: address)).Status);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.9")]
    [InlineData("Forwarded", "for=203.0.113.9")]
    [InlineData("X-Real-IP", "203.0.113.9")]
    [InlineData("X-Original-For", "203.0.113.9:51234")]
    public async Task By_default_a_loopback_request_that_a_proxy_forwarded_is_404(string header, string value)
    {
        // A reverse proxy on the same host connects from 127.0.0.1: the forwarding header is what gives it away.
        await using var app = await HealthTestApp.StartAsync();

        var response = await app.GetAsync("/health/detailed", remote: "127.0.0.1", (header, value));

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
    }

    [Fact]
    public async Task Anonymous_access_answers_remote_callers()
    {
        await using var app = await HealthTestApp.StartAsync(configuration: new Dictionary<string, string?> { ["Observability:Health:Detailed:Access"] = "Anonymous" });

        var response = await app.GetAsync("/health/detailed", remote: "203.0.113.9", ("X-Forwarded-For", "198.51.100.1"));

        Assert.Equal(HttpStatusCode.OK, response.Status);
    }

    [Fact]
    public async Task Policy_access_answers_401_without_credentials_403_without_the_role_and_200_with_it()
    {
        await using var app = await HealthTestApp.StartAsync(
            configuration: new Dictionary<string, string?>
            {
                ["Observability:Health:Detailed:Access"] = "Policy",
                ["Observability:Health:Detailed:Policy"] = "Operators",
            },
            configureBuilder: b =>
            {
                b.Services.AddAuthentication(TestAuthHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.SchemeName, null);
                b.Services.AddAuthorization(o => o.AddPolicy("Operators", p => p.RequireRole("operator")));
            });

        var anonymous = await app.GetAsync("/health/detailed", remote: "203.0.113.9");
        var user = await app.GetAsync("/health/detailed", remote: "203.0.113.9", (TestAuthHandler.Header, "dev"));
        var operatorUser = await app.GetAsync("/health/detailed", remote: "203.0.113.9", (TestAuthHandler.Header, "ops:operator"));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Equal(HttpStatusCode.Forbidden, user.Status);
        Assert.Equal(HttpStatusCode.OK, operatorUser.Status);
        Assert.Equal("Healthy", operatorUser.BodyStatus);

        // The policy guards detailed only.
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/ready", remote: "203.0.113.9")).Status);
    }

    /// <summary>Authenticates "name" or "name:role" from a header; challenges with 401, forbids with 403.</summary>
    private sealed class TestAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "Test";
        public const string Header = "X-Test-User";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(Header, out var value))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var parts = value.ToString().Split(':');
            var claims = new List<Claim> { new(ClaimTypes.Name, parts[0]) };
            if (parts.Length > 1)
            {
                claims.Add(new Claim(ClaimTypes.Role, parts[1]));
            }

            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
        }
    }
}
