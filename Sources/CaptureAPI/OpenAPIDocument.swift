/// The OpenAPI 3.1 document of the shop API, served at `/openapi.json`: embedded in the binary (an
/// installed `captured` has no resource bundle beside it). A test proves that it lists exactly the
/// routes the router registers, with the same methods; `curl --unix-socket SOCKET
/// http://localhost/openapi.json` prints it for client generators.
public enum OpenAPIDocument {
    public static var bytes: [UInt8] { Array(text.utf8) }

    public static let text = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "captured shop API",
            "version": "1",
            "description": "Register authorizations, ask for captures and read their state. Every route but /healthz and /openapi.json needs `Authorization: Bearer <token>` with the scope named in its description. Errors are application/problem+json."
          },
          "components": {
            "securitySchemes": {
              "bearer": {
                "type": "http",
                "scheme": "bearer"
              }
            },
            "schemas": {
              "Problem": {
                "type": "object",
                "required": [
                  "type",
                  "title",
                  "status",
                  "detail"
                ],
                "properties": {
                  "type": {
                    "type": "string"
                  },
                  "title": {
                    "type": "string"
                  },
                  "status": {
                    "type": "integer"
                  },
                  "detail": {
                    "type": "string"
                  },
                  "errors": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "field",
                        "message"
                      ],
                      "properties": {
                        "index": {
                          "type": "integer",
                          "minimum": 0
                        },
                        "field": {
                          "type": "string"
                        },
                        "message": {
                          "type": "string"
                        }
                      }
                    }
                  }
                }
              },
              "ImportRecord": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "psp",
                  "payment",
                  "amount",
                  "currency",
                  "authorized_at"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 128
                  },
                  "psp": {
                    "enum": [
                      "bambora",
                      "swedbankpay"
                    ]
                  },
                  "payment": {
                    "type": "string"
                  },
                  "amount": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "vat_amount": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "currency": {
                    "type": "string",
                    "pattern": "^[A-Z]{3}$"
                  },
                  "authorized_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "expires_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "scheme": {
                    "type": "string"
                  },
                  "initiator": {
                    "enum": [
                      "customer",
                      "merchant"
                    ]
                  },
                  "capture": {
                    "type": "string"
                  },
                  "description": {
                    "type": "string",
                    "maxLength": 40
                  },
                  "merchant": {
                    "type": "string"
                  },
                  "order_items": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    },
                    "maxItems": 1000
                  }
                }
              },
              "Authorization": {
                "type": "object",
                "description": "As `capturectl show ID --json`: every field of PRODUCT.md, absent values null.",
                "required": [
                  "id",
                  "psp",
                  "payment",
                  "state",
                  "amount",
                  "captured_amount",
                  "currency",
                  "attempts",
                  "audit"
                ],
                "properties": {
                  "id": {
                    "type": "string"
                  },
                  "psp": {
                    "type": "string"
                  },
                  "payment": {
                    "type": "string"
                  },
                  "state": {
                    "type": "string"
                  },
                  "amount": {
                    "type": "integer"
                  },
                  "captured_amount": {
                    "type": "integer"
                  },
                  "currency": {
                    "type": "string"
                  },
                  "attempts": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  },
                  "audit": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  }
                }
              },
              "RegistrationResults": {
                "type": "object",
                "required": [
                  "registered",
                  "unchanged",
                  "results"
                ],
                "properties": {
                  "registered": {
                    "type": "integer"
                  },
                  "unchanged": {
                    "type": "integer"
                  },
                  "results": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "id",
                        "result",
                        "warnings"
                      ],
                      "properties": {
                        "id": {
                          "type": "string"
                        },
                        "result": {
                          "enum": [
                            "registered",
                            "unchanged"
                          ]
                        },
                        "warnings": {
                          "type": "array",
                          "items": {
                            "type": "string"
                          }
                        }
                      }
                    }
                  }
                }
              },
              "Status": {
                "type": "object",
                "description": "As `capturectl status --json`.",
                "required": [
                  "status",
                  "reasons",
                  "counts"
                ],
                "properties": {
                  "status": {
                    "enum": [
                      "OK",
                      "WARNING",
                      "CRITICAL",
                      "UNKNOWN"
                    ]
                  },
                  "reasons": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "counts": {
                    "type": "object"
                  }
                }
              },
              "Event": {
                "type": "object",
                "description": "A change a shop acts on (PRODUCT.md, \"Events and webhooks\"): exactly the bytes a webhook is sent. `id` is stable (deduplicate on it); `sequence` orders the database's events.",
                "additionalProperties": false,
                "required": [
                  "id",
                  "type",
                  "created_at",
                  "sequence",
                  "authorization"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "pattern": "^evt_[0-9a-f]{32}$"
                  },
                  "type": {
                    "enum": [
                      "authorization.captured",
                      "authorization.partially_captured",
                      "authorization.captured_externally",
                      "authorization.expired",
                      "authorization.attention",
                      "authorization.voided",
                      "authorization.skipped",
                      "authorization.outcome_unknown"
                    ]
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "sequence": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "authorization": {
                    "type": "object",
                    "description": "The authorization as the change left it; amounts in minor units.",
                    "additionalProperties": false,
                    "required": [
                      "id",
                      "psp",
                      "payment",
                      "state",
                      "amount",
                      "captured_amount",
                      "currency",
                      "state_reason"
                    ],
                    "properties": {
                      "id": {
                        "type": "string"
                      },
                      "psp": {
                        "enum": [
                          "bambora",
                          "swedbankpay"
                        ]
                      },
                      "payment": {
                        "type": "string"
                      },
                      "state": {
                        "enum": [
                          "pending",
                          "capturing",
                          "retrying",
                          "unknown",
                          "partially_captured",
                          "captured",
                          "attention",
                          "expired",
                          "skipped",
                          "voided"
                        ]
                      },
                      "amount": {
                        "type": "integer",
                        "minimum": 1
                      },
                      "captured_amount": {
                        "type": "integer",
                        "minimum": 0
                      },
                      "currency": {
                        "type": "string",
                        "pattern": "^[A-Z]{3}$"
                      },
                      "state_reason": {
                        "type": [
                          "string",
                          "null"
                        ]
                      }
                    }
                  }
                }
              },
              "EventsPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "events",
                  "next"
                ],
                "properties": {
                  "events": {
                    "type": "array",
                    "maxItems": 1000,
                    "items": {
                      "$ref": "#/components/schemas/Event"
                    }
                  },
                  "next": {
                    "type": "string",
                    "pattern": "^(0|[1-9][0-9]{0,17})$",
                    "description": "The cursor to pass as `after` for the events after these; `after` itself when there were none"
                  }
                }
              }
            },
            "responses": {
              "RegisteredOtherwise": {
                "description": "An id is registered with other fields; nothing stored; errors name the fields (and index)",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "InvalidRecords": {
                "description": "Invalid records; nothing stored; errors name each bad field (and index)",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "Unauthorized": {
                "description": "No known token",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "Forbidden": {
                "description": "The token lacks the scope",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "RequestTimeout": {
                "description": "The body did not arrive within 30 seconds of the request's head",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "TooLarge": {
                "description": "The body is larger than api.max_body",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "Unavailable": {
                "description": "The database does not answer",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "NotFound": {
                "description": "No authorization with that id",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "RefusedInState": {
                "description": "Refused in the authorization's state",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "InvalidCommand": {
                "description": "Invalid body or Idempotency-Key reused",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "InvalidQuery": {
                "description": "A malformed `after` or `limit`; errors name it",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              }
            }
          },
          "paths": {
            "/v1/authorizations": {
              "post": {
                "summary": "Register one import record, or an array of up to 1000 (all or nothing). Scope: register.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "oneOf": [
                          {
                            "$ref": "#/components/schemas/ImportRecord"
                          },
                          {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 1000,
                            "items": {
                              "$ref": "#/components/schemas/ImportRecord"
                            }
                          }
                        ]
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Stored (for an array: at least one stored). One record: the authorization as `capturectl show --json`; an array: the results.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "oneOf": [
                            {
                              "$ref": "#/components/schemas/Authorization"
                            },
                            {
                              "$ref": "#/components/schemas/RegistrationResults"
                            }
                          ]
                        }
                      }
                    }
                  },
                  "200": {
                    "description": "Identical resend: nothing changed.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "oneOf": [
                            {
                              "$ref": "#/components/schemas/Authorization"
                            },
                            {
                              "$ref": "#/components/schemas/RegistrationResults"
                            }
                          ]
                        }
                      }
                    }
                  },
                  "409": {
                    "$ref": "#/components/responses/RegisteredOtherwise"
                  },
                  "422": {
                    "$ref": "#/components/responses/InvalidRecords"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "408": {
                    "$ref": "#/components/responses/RequestTimeout"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/v1/authorizations/{id}": {
              "get": {
                "summary": "One authorization, exactly as `capturectl show ID --json`. Scope: read.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "parameters": [
                  {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 128
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The authorization, exactly as `capturectl show ID --json`",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Authorization"
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/v1/authorizations/{id}/capture": {
              "post": {
                "summary": "Capture now, all that remains or `amount`; the daemon executes it. Scope: capture.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "parameters": [
                  {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 128
                    }
                  },
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": false,
                    "description": "A repeat with the same key and body replays the first answer (status and body) and does nothing more; the same key with another body is 422. Keys are per token.",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ],
                "requestBody": {
                  "required": false,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                          "amount": {
                            "type": "integer",
                            "minimum": 1
                          }
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "202": {
                    "description": "Capture requested",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Authorization"
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/RefusedInState"
                  },
                  "422": {
                    "$ref": "#/components/responses/InvalidCommand"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "408": {
                    "$ref": "#/components/responses/RequestTimeout"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/v1/authorizations/{id}/skip": {
              "post": {
                "summary": "Do not capture; stop tracking it. Scope: capture.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "parameters": [
                  {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 128
                    }
                  },
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": false,
                    "description": "A repeat with the same key and body replays the first answer (status and body) and does nothing more; the same key with another body is 422. Keys are per token.",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ],
                "requestBody": {
                  "required": false,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": [
                          "reason"
                        ],
                        "properties": {
                          "reason": {
                            "type": "string",
                            "minLength": 1
                          }
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Skipped",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Authorization"
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/RefusedInState"
                  },
                  "422": {
                    "$ref": "#/components/responses/InvalidCommand"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "408": {
                    "$ref": "#/components/responses/RequestTimeout"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/v1/authorizations/{id}/retry": {
              "post": {
                "summary": "One more attempt for an authorization in attention. Scope: capture.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "parameters": [
                  {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 128
                    }
                  },
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": false,
                    "description": "A repeat with the same key and body replays the first answer (status and body) and does nothing more; the same key with another body is 422. Keys are per token.",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ],
                "requestBody": {
                  "required": false,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {}
                      }
                    }
                  }
                },
                "responses": {
                  "202": {
                    "description": "Attempt granted",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Authorization"
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/RefusedInState"
                  },
                  "422": {
                    "$ref": "#/components/responses/InvalidCommand"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "408": {
                    "$ref": "#/components/responses/RequestTimeout"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/v1/status": {
              "get": {
                "summary": "Exactly `capturectl status --json`; 200 whatever the health. Scope: read.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The status",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Status"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/metrics": {
              "get": {
                "summary": "The daemon's metrics in the Prometheus text format 0.0.4 (the names of PRODUCT.md); the gauges about the database are read at each scrape. Scope: read.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The metrics",
                    "content": {
                      "text/plain": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/v1/events": {
              "get": {
                "summary": "The events after a cursor, oldest first; `next` is the cursor to pass as `after` next time. Scope: read.",
                "security": [
                  {
                    "bearer": []
                  }
                ],
                "parameters": [
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "The `next` of an earlier answer (opaque); absent: from the first event.",
                    "schema": {
                      "type": "string",
                      "pattern": "^(0|[1-9][0-9]{0,17})$"
                    }
                  },
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "How many events at most.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000,
                      "default": 100
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The events and the cursor after them",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/EventsPage"
                        }
                      }
                    }
                  },
                  "422": {
                    "$ref": "#/components/responses/InvalidQuery"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/healthz": {
              "get": {
                "summary": "200 while the daemon runs and its database answers, else 503. No token.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Healthy",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "properties": {
                            "status": {
                              "const": "ok"
                            }
                          }
                        }
                      }
                    }
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/openapi.json": {
              "get": {
                "summary": "This document. No token.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The OpenAPI 3.1 document",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
        """#
}
