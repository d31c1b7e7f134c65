using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Observability.SampleApi.Data;

namespace Observability.SampleApi.Endpoints;

/// <summary><c>/api/items</c>: list, get and create items through EF Core.</summary>
internal static partial class ItemEndpoints
{
    public static void MapItems(this IEndpointRouteBuilder api)
    {
        // Not a nested group: a group's "" route would be reported (and logged as Route) as "/api/items/".
        api.MapGet("/items", ListAsync);
        api.MapGet("/items/{id:int}", GetAsync);
        api.MapPost("/items", CreateAsync);
    }

    private static async Task<Ok<List<Item>>> ListAsync(SampleDbContext db, DatabaseInitializer initializer, CancellationToken cancellationToken)
    {
        await initializer.EnsureInitializedAsync(cancellationToken);
        return TypedResults.Ok(await db.Items.AsNoTracking().OrderBy(i => i.Id).ToListAsync(cancellationToken));
    }

    private static async Task<Results<Ok<Item>, ProblemHttpResult>> GetAsync(int id, SampleDbContext db, DatabaseInitializer initializer, CancellationToken cancellationToken)
    {
        await initializer.EnsureInitializedAsync(cancellationToken);
        var item = await db.Items.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, cancellationToken);
        return item is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Item not found.", detail: $"There is no item with ID {id}.")
            : TypedResults.Ok(item);
    }

    private static async Task<Results<Created<Item>, ValidationProblem>> CreateAsync(
        CreateItemRequest request,
        SampleDbContext db,
        DatabaseInitializer initializer,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        var errors = Validate(request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        await initializer.EnsureInitializedAsync(cancellationToken);
        var item = new Item { Name = request.Name!, Price = request.Price!.Value, CreatedUtc = DateTime.UtcNow };
        db.Items.Add(item);
        await db.SaveChangesAsync(cancellationToken);

        // The one event the app writes itself; the library adds the request ID to it like to its own.
        LogItemCreated(loggerFactory.CreateLogger(typeof(ItemEndpoints)), item.Id);
        return TypedResults.Created($"/api/items/{item.Id}", item);
    }

    private static Dictionary<string, string[]> Validate(CreateItemRequest request)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            errors["name"] = ["The name is required."];
        }
        else if (request.Name.Length > SampleDbContext.NameMaxLength)
        {
            errors["name"] = [$"The name must be at most {SampleDbContext.NameMaxLength} characters long."];
        }

        if (request.Price is null)
        {
            errors["price"] = ["The price is required."];
        }
        else if (request.Price < 0)
        {
            errors["price"] = ["The price must not be negative."];
        }

        return errors;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Created item {ItemId}")]
    private static partial void LogItemCreated(ILogger logger, int itemId);

    /// <summary>The body of <c>POST /api/items</c>; nullable so that a missing field is a validation error, not a 500.</summary>
    internal sealed record CreateItemRequest(string? Name, decimal? Price);
}
