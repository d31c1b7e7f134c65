using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpLogging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Logging;

public sealed class SensitiveDataTests
{
    // The framework's own request logging is turned all the way up, as a team debugging an incident would do; even
    // then no secret may reach the log.
    private static readonly Dictionary<string, string?> VerboseFramework = new()
    {
        ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Information",
    };

    private static Task<TestApp> StartWithHttpLoggingAsync(IDictionary<string, string?>? extra = null)
    {
        var configuration = new Dictionary<string, string?>(VerboseFramework);
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            configuration[k] = v;
        }

        return TestApp.StartAsync(
            app => app.MapGet("/login", (HttpContext ctx) =>
            {
                ctx.Response.Headers.SetCookie = "session=SETCOOKIEMARKER; HttpOnly";
                return "ok";
            }),
            configuration,
            configureBuilder: b => b.Services.AddHttpLogging(o =>
            {
                o.LoggingFields = HttpLoggingFields.RequestPropertiesAndHeaders | HttpLoggingFields.RequestQuery | HttpLoggingFields.ResponsePropertiesAndHeaders;
                o.RequestHeaders.Add("Authorization");
                o.RequestHeaders.Add("Cookie");
                o.RequestHeaders.Add("X-Api-Key");
                o.ResponseHeaders.Add("Set-Cookie");
            }),
            afterObservability: a => a.UseHttpLogging());
    }

    [Fact]
    public async Task Authorization_cookie_and_api_key_header_values_never_reach_the_log()
    {
        await using var app = await StartWithHttpLoggingAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/login");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer AUTHMARKER");
        request.Headers.TryAddWithoutValidation("Cookie", "session=COOKIEMARKER");
        request.Headers.TryAddWithoutValidation("X-Api-Key", "APIKEYMARKER");

        var response = await app.Client.SendAsync(request);
        var id = response.Headers.GetValues("X-Request-ID").Single();
        await app.CompletionEventAsync(id);
        var headerEvents = await app.WaitForEventsAsync(e => e.Has("Authorization"));

        Assert.Equal(SensitiveDataRedactor.Redacted, headerEvents.Single().Str("Authorization"));
        Assert.DoesNotContain("AUTHMARKER", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("COOKIEMARKER", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("APIKEYMARKER", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("SETCOOKIEMARKER", app.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sensitive_query_string_values_never_reach_the_log_and_others_stay()
    {
        await using var app = await StartWithHttpLoggingAsync();

        var response = await app.Client.GetAsync("/login?user=ada&password=PWMARKER&access_token=TOKENMARKER&sig=1&signature=SIGMARKER&page=3");
        await app.CompletionEventAsync(response.Headers.GetValues("X-Request-ID").Single());
        var hosting = await app.WaitForEventsAsync(e => e.Str("SourceContext") == "Microsoft.AspNetCore.Hosting.Diagnostics" && e.Has("QueryString"));

        Assert.DoesNotContain("PWMARKER", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("TOKENMARKER", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("SIGMARKER", app.Output, StringComparison.Ordinal);
        Assert.Equal("?user=ada&password=[Redacted]&access_token=[Redacted]&sig=1&signature=[Redacted]&page=3", hosting[0].Str("QueryString"));
    }

    [Fact]
    public async Task Sensitive_query_keys_are_configurable()
    {
        await using var app = await StartWithHttpLoggingAsync(new Dictionary<string, string?> { ["Observability:Logging:SensitiveQueryKeys:0"] = "ssn" });

        var response = await app.Client.GetAsync("/login?ssn=SSNMARKER&page=3");
        await app.CompletionEventAsync(response.Headers.GetValues("X-Request-ID").Single());
        await app.WaitForEventsAsync(e => e.Has("QueryString"));

        Assert.DoesNotContain("SSNMARKER", app.Output, StringComparison.Ordinal);
        Assert.Contains("page=3", app.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_values_in_a_logged_uri_object_are_redacted_like_strings()
    {
        // Apps log request URLs as System.Uri more often than as text (HttpRequestMessage.RequestUri).
        await using var app = await TestApp.StartAsync(a => a.MapGet("/call", (ILogger<SensitiveDataTests> logger) =>
        {
            logger.LogInformation("Calling {Uri} then {Url}", new Uri("http://partner/api?user=ada&password=URIMARKER"), new Uri("http://partner/x?token=URLMARKER"));
            return "ok";
        }));

        var response = await app.Client.GetAsync("/call");
        await app.CompletionEventAsync(response.Headers.GetValues("X-Request-ID").Single());
        var call = (await app.WaitForEventsAsync(e => e.Has("Uri") && e.Has("Url"))).Single();

        Assert.Equal("http://partner/api?user=ada&password=[Redacted]", call.Str("Uri"));
        Assert.Equal("http://partner/x?token=[Redacted]", call.Str("Url"));
        Assert.DoesNotContain("URIMARKER", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("URLMARKER", app.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completion_event_logs_the_path_without_the_query_string()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/reset", () => "ok"));

        var response = await app.Client.GetAsync("/reset?token=RESETMARKER");
        var e = await app.CompletionEventAsync(response.Headers.GetValues("X-Request-ID").Single());

        Assert.Equal("/reset", e.Str("RequestPath"));
        Assert.DoesNotContain("RESETMARKER", app.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://h/p?a=1&password=x", "http://h/p?a=1&password=[Redacted]")]
    [InlineData("?Token=abc#frag", "?Token=[Redacted]#frag")]
    [InlineData("?pass%77ord=x", "?pass%77ord=[Redacted]")]
    [InlineData("?page=1&sort=asc", "?page=1&sort=asc")]
    [InlineData("?flag&code=123&", "?flag&code=[Redacted]&")]
    [InlineData("/no/query", "/no/query")]
    public void Query_redaction_replaces_only_sensitive_values(string input, string expected)
    {
        var redactor = new SensitiveDataRedactor(Observability.AspNetCore.LoggingOptions.DefaultSensitiveQueryKeys);

        Assert.Equal(expected, redactor.RedactQuery(input));
    }
}
