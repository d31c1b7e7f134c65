using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Logging;

public sealed class CompletionEventTests
{
    private static Task<TestApp> StartAsync(IDictionary<string, string?>? configuration = null, Action<WebApplicationBuilder>? configureBuilder = null, Action<WebApplication>? afterObservability = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.MapGet("/api/items/{id:int}", (int id) => new { id });
                app.MapGet("/teapot", () => Results.StatusCode(418));
                app.MapGet("/fail", () => Results.StatusCode(503));
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom from handler"));
                app.MapGet("/log", (ILogger<CompletionEventTests> logger) =>
                {
                    logger.LogInformation("Handler says {Thing}", "hello");
                    return "ok";
                });
                app.MapGet("/internal", () => "own").WithMetadata(ObservabilityEndpointMetadata.Instance);
            },
            configuration,
            configureBuilder,
            // TestServer has no socket; give requests the client address a real server would (UseForwardedHeaders does the same).
            beforeObservability: a => a.Use((HttpContext ctx, RequestDelegate next) =>
            {
                ctx.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.9");
                return next(ctx);
            }),
            afterObservability: afterObservability);

    private static async Task<(HttpResponseMessage Response, string RequestId)> GetAsync(TestApp app, string path, string? requestId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (requestId is not null)
        {
            request.Headers.Add("X-Request-ID", requestId);
        }

        var response = await app.Client.SendAsync(request);
        return (response, response.Headers.GetValues("X-Request-ID").Single());
    }

    [Fact]
    public async Task Completion_event_is_one_clef_line_with_the_documented_properties()
    {
        await using var app = await StartAsync();

        var (_, id) = await GetAsync(app, "/api/items/42?page=2");
        var e = await app.CompletionEventAsync(id);

        Assert.True(e.Has("@t"));
        Assert.Equal("{RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed} ms", e.Str("@mt"));
        Assert.False(e.Has("@l"), "Information events carry no @l in CLEF");
        Assert.Equal("GET", e.Str("RequestMethod"));
        Assert.Equal("/api/items/42", e.Str("RequestPath"));
        Assert.Equal("/api/items/{id:int}", e.Str("Route"));
        Assert.Equal(200, e.GetProperty("StatusCode").GetInt32());
        Assert.Equal(JsonValueKind.Number, e.GetProperty("Elapsed").ValueKind);
        Assert.True(e.GetProperty("Elapsed").GetDouble() >= 0);
        Assert.Equal(id, e.Str("RequestId"));
        Assert.Equal("203.0.113.9", e.Str("ClientIp"));
        Assert.Equal(1050, e.GetProperty("EventId").GetProperty("Id").GetInt32());
        Assert.Equal("Observability.AspNetCore.RequestLogging", e.Str("SourceContext"));
        Assert.Equal("Observability.AspNetCore.Tests", e.Str("Service"));
        Assert.False(string.IsNullOrEmpty(e.Str("Version")));
        Assert.Equal("Production", e.Str("Environment"));
        Assert.False(e.Has("UserId"), "an anonymous request has no UserId");
    }

    [Fact]
    public async Task Exactly_one_completion_event_is_written_per_request()
    {
        await using var app = await StartAsync();

        var (_, id) = await GetAsync(app, "/api/items/1");
        await app.CompletionEventAsync(id);
        await Task.Delay(100);

        Assert.Single(app.Events(), e => e.IsCompletion() && e.Str("RequestId") == id);
    }

    [Fact]
    public async Task Unmatched_request_has_no_route_and_status_404_at_information()
    {
        await using var app = await StartAsync();

        var (_, id) = await GetAsync(app, "/nowhere/123");
        var e = await app.CompletionEventAsync(id);

        Assert.False(e.Has("Route"));
        Assert.Equal(404, e.GetProperty("StatusCode").GetInt32());
        Assert.Equal("Information", e.Level());
    }

    [Fact]
    public async Task Client_error_status_is_logged_at_information()
    {
        await using var app = await StartAsync();

        var (_, id) = await GetAsync(app, "/teapot");

        Assert.Equal("Information", (await app.CompletionEventAsync(id)).Level());
    }

    [Fact]
    public async Task Server_error_status_is_logged_at_error()
    {
        await using var app = await StartAsync();

        var (_, id) = await GetAsync(app, "/fail");

        Assert.Equal("Error", (await app.CompletionEventAsync(id)).Level());
    }

    [Fact]
    public async Task Apps_own_logger_events_carry_the_request_id_and_trace_context()
    {
        await using var app = await StartAsync();

        var (_, id) = await GetAsync(app, "/log", "own-logger-1");
        var events = await app.WaitForEventsAsync(e => e.Str("@mt") == "Handler says {Thing}");

        var e = Assert.Single(events);
        Assert.Equal("own-logger-1", e.Str("RequestId"));
        Assert.Equal(id, e.Str("RequestId"));
        Assert.Matches("^[0-9a-f]{32}$", e.Str("@tr"));
        Assert.Matches("^[0-9a-f]{16}$", e.Str("@sp"));
    }

    [Fact]
    public async Task Trace_context_is_the_incoming_w3c_traceparent_in_one_representation()
    {
        await using var app = await StartAsync();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Get, "/log");
        request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");

        await app.Client.SendAsync(request);
        var e = (await app.WaitForEventsAsync(e => e.Str("@mt") == "Handler says {Thing}")).Single();
        var completion = (await app.WaitForEventsAsync(e => e.IsCompletion())).Single();

        Assert.Equal(traceId, e.Str("@tr"));
        Assert.Equal(traceId, completion.Str("@tr"));
        Assert.Equal(e.Str("@sp"), completion.Str("@sp"));
        Assert.False(e.Has("TraceId"));
        Assert.False(e.Has("SpanId"));
        Assert.False(e.Has("ParentId"));
    }

    [Fact]
    public async Task Hosting_events_carry_our_request_id_not_the_servers()
    {
        // Turn on ASP.NET Core's own per-request events: their log scope carries the server's RequestId, which ours must replace.
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Information" });

        var (_, id) = await GetAsync(app, "/api/items/7", "hosting-check-1");
        var hosting = await app.WaitForEventsAsync(e => e.Str("SourceContext") == "Microsoft.AspNetCore.Hosting.Diagnostics", count: 2);

        Assert.All(hosting, e => Assert.Equal(id, e.Str("RequestId")));
        Assert.All(hosting, e => Assert.Equal("hosting-check-1", e.Str("RequestId")));
    }

    [Fact]
    public async Task Framework_per_request_events_are_off_by_default()
    {
        await using var app = await StartAsync();

        var (_, id) = await GetAsync(app, "/api/items/7");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), e => e.Str("SourceContext") == "Microsoft.AspNetCore.Hosting.Diagnostics");
    }

    [Fact]
    public async Task Unhandled_exception_is_one_error_event_with_the_exception_and_a_problem_response()
    {
        await using var app = await StartAsync();

        var (response, id) = await GetAsync(app, "/boom", "boom-1");
        var body = await response.Content.ReadAsStringAsync();
        var e = await app.CompletionEventAsync(id);
        await Task.Delay(100);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal("boom-1", problem.RootElement.GetProperty("requestId").GetString());
        Assert.Equal(500, problem.RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain("boom from handler", body, StringComparison.Ordinal);
        Assert.DoesNotContain("at ", body, StringComparison.Ordinal);

        Assert.Equal("Error", e.Level());
        Assert.Equal(500, e.GetProperty("StatusCode").GetInt32());
        Assert.Contains("boom from handler", e.Str("@x"), StringComparison.Ordinal);
        Assert.Single(app.Events(), ev => ev.Has("@x"));
    }

    [Fact]
    public async Task App_keeps_serving_after_an_unhandled_exception()
    {
        await using var app = await StartAsync();

        await GetAsync(app, "/boom");
        var (response, _) = await GetAsync(app, "/api/items/1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Unhandled_exception_goes_through_the_apps_problem_details_service()
    {
        await using var app = await StartAsync(configureBuilder: b => b.Services.AddProblemDetails(o =>
            o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["customized"] = "by-app"));

        var (response, id) = await GetAsync(app, "/boom");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("by-app", problem.RootElement.GetProperty("customized").GetString());
        Assert.Equal(id, problem.RootElement.GetProperty("requestId").GetString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Request_aborted_by_the_client_is_neither_an_error_nor_a_500()
    {
        await using var app = await TestApp.StartAsync(app => app.MapGet("/hang", async (HttpContext ctx) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
            return "unreachable";
        }));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hang");
        request.Headers.Add("X-Request-ID", "aborted-1");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => app.Client.SendAsync(request, cts.Token));
        var e = await app.CompletionEventAsync("aborted-1");

        Assert.Equal("Information", e.Level());
        Assert.NotEqual(500, e.GetProperty("StatusCode").GetInt32());
        Assert.True(e.GetProperty("Aborted").GetBoolean());
        Assert.Equal("{RequestMethod} {RequestPath} aborted by the client after {Elapsed} ms", e.Str("@mt"));
        Assert.False(e.Has("@x"));
    }

    [Fact]
    public async Task Authenticated_user_id_and_client_ip_are_logged()
    {
        await using var app = await StartAsync(
            configureBuilder: b => b.Services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, TestAuthHandler>("Test", null),
            afterObservability: a => a.UseAuthentication());

        var (_, id) = await GetAsync(app, "/api/items/1");
        var e = await app.CompletionEventAsync(id);

        Assert.Equal("user-42", e.Str("UserId"));
        Assert.Equal("203.0.113.9", e.Str("ClientIp"));
    }

    [Fact]
    public async Task User_set_by_the_app_without_authentication_services_is_logged()
    {
        // No AddAuthentication: the user is whatever the app's own middleware puts on HttpContext.User.
        await using var app = await StartAsync(afterObservability: a => a.Use((HttpContext ctx, RequestDelegate next) =>
        {
            ctx.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "user-7")], "Custom"));
            return next(ctx);
        }));

        var (_, id) = await GetAsync(app, "/api/items/1");
        var e = await app.CompletionEventAsync(id);

        Assert.Equal("user-7", e.Str("UserId"));
    }

    [Fact]
    public async Task Client_ip_and_user_id_can_be_switched_off()
    {
        await using var app = await StartAsync(
            new Dictionary<string, string?> { ["Observability:Logging:IncludeClientIp"] = "false", ["Observability:Logging:IncludeUserId"] = "false" },
            configureBuilder: b => b.Services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, TestAuthHandler>("Test", null),
            afterObservability: a => a.UseAuthentication());

        var (_, id) = await GetAsync(app, "/api/items/1");
        var e = await app.CompletionEventAsync(id);

        Assert.False(e.Has("UserId"));
        Assert.False(e.Has("ClientIp"));
    }

    [Fact]
    public async Task Requests_to_the_librarys_own_endpoints_are_logged_at_debug()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Debug" });

        var (_, id) = await GetAsync(app, "/internal");

        Assert.Equal("Debug", (await app.CompletionEventAsync(id)).Level());
    }

    [Fact]
    public async Task Requests_to_the_librarys_own_endpoints_are_absent_from_an_information_log()
    {
        await using var app = await StartAsync();

        var (_, own) = await GetAsync(app, "/internal");
        var (_, other) = await GetAsync(app, "/api/items/1");
        await app.CompletionEventAsync(other);

        Assert.DoesNotContain(app.Events(), e => e.Str("RequestId") == own);
    }

    [Fact]
    public async Task Own_endpoints_level_is_configurable()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Logging:OwnEndpointsLevel"] = "Information" });

        var (_, id) = await GetAsync(app, "/internal");

        Assert.Equal("Information", (await app.CompletionEventAsync(id)).Level());
    }

    [Fact]
    public async Task Serilog_section_sets_levels_in_one_place()
    {
        await using var app = await StartAsync(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Logging:LogLevel:Default"] = "Trace",
        });

        await GetAsync(app, "/log");
        var (_, failing) = await GetAsync(app, "/fail");
        await app.CompletionEventAsync(failing);

        Assert.DoesNotContain(app.Events(), e => e.Str("@mt") == "Handler says {Thing}");
        Assert.Single(app.Events(), e => e.IsCompletion());
    }

    [Fact]
    public async Task Service_and_version_come_from_configuration()
    {
        await using var app = await StartAsync(new Dictionary<string, string?>
        {
            ["Observability:ServiceName"] = "orders-api",
            ["Observability:ServiceVersion"] = "9.8.7",
        });

        var (_, id) = await GetAsync(app, "/api/items/1");
        var e = await app.CompletionEventAsync(id);

        Assert.Equal("orders-api", e.Str("Service"));
        Assert.Equal("9.8.7", e.Str("Version"));
    }

    [Fact]
    public async Task Text_format_writes_human_readable_lines_instead_of_json()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Logging:Format"] = "Text" });

        var (_, id) = await GetAsync(app, "/api/items/5");
        await Poll.UntilAsync(() => app.Output, o => o.Contains(id, StringComparison.Ordinal), o => $"No line with {id} within 5 s:\n{o}", TimeSpan.FromSeconds(5));

        var line = Assert.Single(app.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains(id, StringComparison.Ordinal));
        Assert.Matches(@"^\[\d\d:\d\d:\d\d\.\d{3} INF\] ""?GET""? ""?/api/items/5""? responded 200 in [\d.]+ ms", line);
        Assert.False(line.TrimStart().StartsWith('{'));
    }

    internal sealed class TestAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "user-42"), new Claim(ClaimTypes.Name, "Ada")], "Test");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "Test")));
        }
    }
}

public sealed class ClientErrorTests
{
    private static Task<TestApp> StartAsync(Action<WebApplicationBuilder>? configureBuilder = null) => TestApp.StartAsync(
        app =>
        {
            app.MapGet("/slow", (int ms) => ms);
            app.MapPost("/items", (Item item) => item.Name);
            app.MapGet("/missing", () => Results.Problem(statusCode: 404, title: "Not here"));
        },
        configureBuilder: b =>
        {
            // Development-style binding: minimal APIs throw BadHttpRequestException instead of writing an empty 400.
            b.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
            configureBuilder?.Invoke(b);
        });

    [Fact]
    public async Task Unbindable_request_is_a_400_problem_not_a_500()
    {
        await using var app = await StartAsync();

        var response = await app.Client.GetAsync("/slow?ms=abc");
        var id = response.Headers.GetValues("X-Request-ID").Single();
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var e = await app.CompletionEventAsync(id);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(id, problem.RootElement.GetProperty("requestId").GetString());
        Assert.Equal(400, e.GetProperty("StatusCode").GetInt32());
        Assert.Equal("Information", e.Level());
    }

    [Fact]
    public async Task Malformed_json_body_is_a_400_not_counted_as_an_exception()
    {
        await using var app = await StartAsync();

        using var content = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json");
        var response = await app.Client.PostAsync("/items", content);
        await app.CompletionEventAsync(response.Headers.GetValues("X-Request-ID").Single());
        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(1, samples.Value("http_requests_total", ("endpoint", "/items"), ("status", "400")));
        Assert.Equal(0, samples.Value("http_request_exceptions_total"));
    }

    [Fact]
    public async Task Apps_own_problem_responses_carry_the_request_id()
    {
        await using var app = await StartAsync(b => b.Services.AddProblemDetails());

        var response = await app.Client.GetAsync("/missing");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(response.Headers.GetValues("X-Request-ID").Single(), problem.RootElement.GetProperty("requestId").GetString());
    }

    private sealed record Item(string Name);
}
