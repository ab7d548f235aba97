"""The JSON API under /api/v1 (staff session or `Authorization: Bearer <token>`).

Each request and answer is declared once, as a pydantic model in `api/schemas.py`; spectree
(`api/spec.py`) validates requests with it and writes the OpenAPI document from it, so the
document served at /api/v1/openapi.json is the validation. To add an endpoint:

1. **Models** in `schemas.py`: a `Request` subclass for the body, built from the field types
   there (`Line(n)`, `Text(n)`, `When`, `Int(lo, hi)`, `Flag`, vocabulary enums — every bound
   goes in the type, never in the view), with a ``to_input()`` for its service; an `Answer`
   subclass for what it returns, with an ``of(row)`` constructor.
2. **View** in `views.py`, decorators in this order::

       @bp.post("/checkins")
       @requires(DEVICE, *MANAGERS)  # or @public: access is decided first
       @writes  # the transaction's kind, when not the method's default
       @endpoint(ok={201: schemas.CheckIn}, errors=(400, 401, 403, 404, 409, 422))
       def check_in(json: schemas.CheckInRequest):
           return schemas.CheckIn.of(services.check_in(json.to_input())), 201

   The ``json`` parameter's annotation is the body's model; the view gets it validated (a
   body that breaks it never reaches the view: 400 ``invalid_json`` or 422 with Japanese
   messages per field path). A view without a body (GET, DELETE) has no ``json`` parameter.
   Return the answer model (a tuple with status and headers as usual); refuse with
   `DomainError` from the services, as everywhere.
3. **Rules** between fields stay in the service and name fields by the request's paths
   (``sessions.0.ends_at``). A new Japanese message for a pydantic error type goes in
   `spec.MESSAGES`, the one table of them.
4. **Tests**: `tests/test_api_contract.py` probes every body in the document; give it a sample
   body in `SAMPLES` (it fails until you do). `tests/test_roles.py` needs sample values for new
   URL arguments.
"""
