using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.RequestId;

public sealed class RequestIdTests
{
    private static Task<TestApp> StartAsync(IDictionary<string, string?>? configuration = null) => TestApp.StartAsync(
        app =>
        {
            app.MapGet("/id", (HttpContext ctx) => ctx.TraceIdentifier);
            app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
        },
        configuration);

    private static async Task<HttpContext> SendWithRawHeaderAsync(TestApp app, string path, string headerValue) =>
        await app.Server.SendAsync(ctx =>
        {
            ctx.Request.Method = "GET";
            ctx.Request.Path = path;
            ctx.Request.Headers["X-Request-ID"] = headerValue;
        });

    [Fact]
    public async Task Response_without_incoming_id_carries_a_generated_one_equal_to_TraceIdentifier()
    {
        await using var app = await StartAsync();

        var response = await app.Client.GetAsync("/id");

        var id = Assert.Single(response.Headers.GetValues("X-Request-ID"));
        Assert.Matches("^[0-9a-v]{10}-[0-9a-f]{8,}$", id);
        Assert.Equal(id, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Generated_ids_are_unique_per_request()
    {
        await using var app = await StartAsync();

        var ids = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            var response = await app.Client.GetAsync("/id");
            ids.Add(response.Headers.GetValues("X-Request-ID").Single());
        }

        Assert.Equal(50, ids.Count);
    }

    [Theory]
    [InlineData("abc-123")]
    [InlineData("0HN7:00000001")]
    [InlineData("a.b_c-d:e")]
    public async Task Valid_incoming_request_id_is_kept_echoed_and_used_as_TraceIdentifier(string incoming)
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/id");
        request.Headers.Add("X-Request-ID", incoming);

        var response = await app.Client.SendAsync(request);

        Assert.Equal(incoming, response.Headers.GetValues("X-Request-ID").Single());
        Assert.Equal(incoming, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Incoming_request_id_of_128_characters_is_kept()
    {
        await using var app = await StartAsync();
        var incoming = new string('a', 128);

        var ctx = await SendWithRawHeaderAsync(app, "/id", incoming);

        Assert.Equal(incoming, ctx.Response.Headers["X-Request-ID"].ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("quote\"d")]
    [InlineData("crlf\r\nX-Injected: 1")]
    [InlineData("lf\nonly")]
    [InlineData("caf\u00e9")]
    [InlineData("semi;colon")]
    [InlineData("comma,separated")]
    public async Task Hostile_incoming_request_id_is_replaced_by_a_generated_one(string hostile)
    {
        await using var app = await StartAsync();

        var ctx = await SendWithRawHeaderAsync(app, "/id", hostile);

        var id = ctx.Response.Headers["X-Request-ID"].ToString();
        Assert.NotEqual(hostile, id);
        Assert.Matches("^[0-9a-v]{10}-[0-9a-f]{8,}$", id);
        Assert.False(ctx.Response.Headers.ContainsKey("X-Injected"));
    }

    [Fact]
    public async Task Incoming_request_id_of_129_characters_is_replaced()
    {
        await using var app = await StartAsync();
        var tooLong = new string('a', 129);

        var ctx = await SendWithRawHeaderAsync(app, "/id", tooLong);

        Assert.NotEqual(tooLong, ctx.Response.Headers["X-Request-ID"].ToString());
    }

    [Fact]
    public async Task Rejected_request_id_never_reaches_the_log()
    {
        await using var app = await StartAsync();
        const string marker = "REJECTEDMARKER\r\n{\"forged\":true}";

        var ctx = await SendWithRawHeaderAsync(app, "/id", marker);
        await app.CompletionEventAsync(ctx.Response.Headers["X-Request-ID"].ToString());

        Assert.DoesNotContain("REJECTEDMARKER", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("forged", app.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_incoming_request_id_values_are_replaced()
    {
        await using var app = await StartAsync();

        var ctx = await app.Server.SendAsync(c =>
        {
            c.Request.Path = "/id";
            c.Request.Headers["X-Request-ID"] = new Microsoft.Extensions.Primitives.StringValues(["one", "two"]);
        });

        var id = ctx.Response.Headers["X-Request-ID"].ToString();
        Assert.NotEqual("one", id);
        Assert.NotEqual("two", id);
    }

    [Fact]
    public async Task Not_found_response_carries_the_request_id()
    {
        await using var app = await StartAsync();

        var response = await app.Client.GetAsync("/does-not-exist");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Single(response.Headers.GetValues("X-Request-ID"));
    }

    [Fact]
    public async Task Unhandled_exception_response_carries_the_request_id()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "boom-request-1");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("boom-request-1", response.Headers.GetValues("X-Request-ID").Single());
    }

    [Fact]
    public async Task Response_short_circuited_by_later_middleware_carries_the_request_id()
    {
        await using var app = await TestApp.StartAsync(
            app => app.MapGet("/", () => "never reached"),
            afterObservability: app => app.Use((HttpContext ctx, RequestDelegate _) =>
            {
                ctx.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                return Task.CompletedTask;
            }));

        var response = await app.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Single(response.Headers.GetValues("X-Request-ID"));
    }

    [Fact]
    public async Task Request_id_header_name_is_configurable()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:RequestId:Header"] = "X-Correlation-ID" });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/id");
        request.Headers.Add("X-Correlation-ID", "corr-1");

        var response = await app.Client.SendAsync(request);

        Assert.Equal("corr-1", response.Headers.GetValues("X-Correlation-ID").Single());
        Assert.False(response.Headers.Contains("X-Request-ID"));
    }

    [Fact]
    public async Task Response_carries_X_Response_Time_in_milliseconds()
    {
        await using var app = await StartAsync();

        var response = await app.Client.GetAsync("/id");

        Assert.Matches(@"^\d+(\.\d{1,2})?ms$", response.Headers.GetValues("X-Response-Time").Single());
    }

    [Fact]
    public async Task HttpClient_from_the_factory_forwards_the_current_request_id()
    {
        // The downstream service is a second in-process app that echoes the header it received.
        var downstreamBuilder = TestApp.CreateBuilder();
        await using var downstream = downstreamBuilder.Build();
        downstream.MapGet("/echo", (HttpContext ctx) => ctx.Request.Headers["X-Request-ID"].ToString());
        await downstream.StartAsync();
        var downstreamServer = downstream.GetTestServer();

        await using var app = await TestApp.StartAsync(
            app => app.MapGet("/call", async (IHttpClientFactory factory) =>
                await factory.CreateClient("downstream").GetStringAsync(new Uri("http://downstream/echo"))),
            configureBuilder: b => b.Services.AddHttpClient("downstream")
                .ConfigurePrimaryHttpMessageHandler(() => downstreamServer.CreateHandler()));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/call");
        request.Headers.Add("X-Request-ID", "propagated-42");

        var body = await (await app.Client.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Equal("propagated-42", body);
    }
}

public sealed class RequestIdGeneratorTests
{
    [Fact]
    public void Generated_ids_share_the_process_prefix_and_count_up_in_hex()
    {
        var ids = Enumerable.Range(0, 1_000).Select(_ => Observability.AspNetCore.Core.RequestIdGenerator.Next()).ToList();

        Assert.All(ids, id => Assert.Matches("^[0-9a-v]{10}-[0-9a-f]{8,16}$", id));
        Assert.Single(ids.Select(id => id[..10]).Distinct());
        var counters = ids.Select(id => long.Parse(id[11..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Count, counters.Distinct().Count());
        Assert.True(counters.Zip(counters.Skip(1)).All(p => p.Second > p.First), "the counter only grows");
    }
}
