//! The plumbing every service facade (one file per service kind) shares,
//! as macros generating it for the facade's own handler trait and
//! service.

/// Implements the handler trait `$handler` (one method, `$method`) for
/// closures of the method's signature and for `Arc<T>` of any handler.
macro_rules! handler_impls {
    ($handler:ident :: $method:ident ($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        impl<F> $handler for F
        where
            F: Fn($($ty),*) -> $ret + Send + Sync + 'static,
        {
            fn $method(&self, $($arg: $ty),*) -> $ret {
                self($($arg),*)
            }
        }

        impl<T: $handler + ?Sized> $handler for std::sync::Arc<T> {
            fn $method(&self, $($arg: $ty),*) -> $ret {
                (**self).$method($($arg),*)
            }
        }
    };
}
pub(crate) use handler_impls;

/// Defines the constructors of one service kind: `Server::$name`
/// (documented by the caller) serving `$service(handler)`, and
/// `LocalDispatcher::$name` dispatching it in process. `$method` is the
/// method's name in the documentation.
macro_rules! service_constructors {
    ($(#[$doc:meta])* $name:ident, $method:literal, $handler:ident, $service:ident) => {
        impl $crate::service::server::Server {
            $(#[$doc])*
            pub fn $name(
                config: &$crate::service::server::ServerConfig,
                handler: impl $handler,
            ) -> $crate::error::Result<$crate::service::server::Server> {
                $crate::service::server::Server::start(config, $service(handler))
            }
        }

        impl $crate::service::server::LocalDispatcher {
            #[doc = concat!(
                "An in-process `", $method, "` dispatcher with a response budget of\n",
                "`response_budget` bytes."
            )]
            pub fn $name(
                handler: impl $handler,
                response_budget: u32,
            ) -> $crate::service::server::LocalDispatcher {
                $crate::service::server::LocalDispatcher::new($service(handler), response_budget)
            }
        }
    };
}
pub(crate) use service_constructors;
