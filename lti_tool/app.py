"""The Flask application factory."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import logs
from .config import Config, instance_secret_key
from .extensions import csrf


def create_app(config: Config | None = None) -> Flask:
    """Build the app: configuration, database, blueprints, error pages. No I/O to the network."""
    config = config or Config()
    app = Flask(__name__, instance_path=str(config.INSTANCE_DIR))
    app.config.from_object(config)
    if not app.config.get("SECRET_KEY"):
        config.require_stable_secret()  # outside the sandbox and tests: ConfigError
        app.config["SECRET_KEY"] = instance_secret_key(config.INSTANCE_DIR)
    if config.TRUSTED_PROXIES:
        # Behind a proxy the scheme and host come from X-Forwarded-*, so cookies get Secure.
        # X-Forwarded-For too: console sign-ins are throttled by the client's address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=config.TRUSTED_PROXIES,  # type: ignore[method-assign]
                                x_host=config.TRUSTED_PROXIES, x_for=config.TRUSTED_PROXIES)
    if not app.debug and not app.testing:
        logs.configure(config.LOG_FORMAT, config.LOG_LEVEL)

    from . import db, errors, numbers, observability, security, sessions
    from .admin import bp as admin_bp
    from .classview import bp as classview_bp
    from .governance.console import bp as governance_bp
    from .governance.privacy import bp as privacy_bp
    from .instructor import bp as instructor_bp
    from .learner import bp as learner_bp
    from .lti import bp as lti_bp
    from .main import bp as main_bp

    db.init_app(app)
    # Every session keeps the class view's stored course totals with the attempts it changes.
    from .attempts import totals

    totals.install(app.extensions["lti_tool.sessionmaker"])
    sessions.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    observability.init_app(app)
    security.init_app(app)
    numbers.use_zone(app.config["TIME_ZONE"])
    app.jinja_env.filters.update(points=numbers.points, percent=numbers.percent,
                                 share=numbers.share, when=numbers.when, day=numbers.day)
    app.register_blueprint(main_bp)
    app.register_blueprint(lti_bp)
    app.register_blueprint(learner_bp)
    app.register_blueprint(classview_bp)
    app.register_blueprint(instructor_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(governance_bp)
    app.register_blueprint(privacy_bp)
    if app.config["SANDBOX_ENABLED"]:
        from .sandbox import bp as sandbox_bp

        app.register_blueprint(sandbox_bp)
    return app
