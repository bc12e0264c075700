//! The operator service's Nexus endpoint calls, as `temporal operator nexus endpoint …` makes
//! them, and `TestEnv::create_nexus_endpoint`: created, refused with typed errors, listed,
//! looked up and deleted.

use tonic::Code;
use workflow_client::proto::nexus as pn;
use workflow_client::proto::operatorservice as os;
use workflow_testing::{NexusEndpointError, TestEnv};

fn spec(name: &str, target: pn::endpoint_target::Variant) -> os::CreateNexusEndpointRequest {
    os::CreateNexusEndpointRequest {
        spec: Some(pn::EndpointSpec {
            name: name.to_string(),
            description: None,
            target: Some(pn::EndpointTarget { variant: Some(target) }),
        }),
    }
}

fn worker(namespace: &str, task_queue: &str) -> pn::endpoint_target::Variant {
    pn::endpoint_target::Variant::Worker(pn::endpoint_target::Worker {
        namespace: namespace.to_string(),
        task_queue: task_queue.to_string(),
    })
}

#[tokio::test]
async fn the_operator_service_and_the_typed_call_manage_nexus_endpoints() {
    let env = TestEnv::start().await.unwrap();
    let address = format!("http://{}", env.client().options().address);
    // Compressed, as the `temporal` CLI sends its calls.
    let mut operator = os::operator_service_client::OperatorServiceClient::connect(address)
        .await
        .unwrap()
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let created = operator
        .create_nexus_endpoint(spec("inventory", worker("default", "handlers")))
        .await
        .unwrap()
        .into_inner()
        .endpoint
        .unwrap();
    assert_eq!(created.spec.as_ref().unwrap().name, "inventory");
    assert!(!created.id.is_empty());

    let refused = |request| {
        let mut operator = operator.clone();
        async move { operator.create_nexus_endpoint(request).await.unwrap_err().code() }
    };
    assert_eq!(
        refused(spec("inventory", worker("default", "other"))).await,
        Code::AlreadyExists
    );
    assert_eq!(
        refused(spec("not.valid", worker("default", "q"))).await,
        Code::InvalidArgument
    );
    assert_eq!(
        refused(spec("elsewhere", worker("other-ns", "q"))).await,
        Code::InvalidArgument
    );
    assert_eq!(
        refused(spec("no-queue", worker("default", ""))).await,
        Code::InvalidArgument
    );
    let external = pn::endpoint_target::Variant::External(pn::endpoint_target::External {
        url: "http://localhost:1".into(),
    });
    assert_eq!(refused(spec("external", external)).await, Code::Unimplemented);

    let by_api = env.create_nexus_endpoint("shipping", "shippers").unwrap();
    assert!(matches!(
        env.create_nexus_endpoint("shipping", "elsewhere"),
        Err(NexusEndpointError::AlreadyExists(_))
    ));
    assert!(matches!(
        env.create_nexus_endpoint("9lives", "q"),
        Err(NexusEndpointError::Invalid(_))
    ));

    let listed = operator
        .list_nexus_endpoints(os::ListNexusEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .endpoints;
    let names: Vec<&str> = listed.iter().map(|e| e.spec.as_ref().unwrap().name.as_str()).collect();
    assert_eq!(names, ["inventory", "shipping"]);
    let shipping = operator
        .get_nexus_endpoint(os::GetNexusEndpointRequest { id: by_api.clone() })
        .await
        .unwrap()
        .into_inner()
        .endpoint
        .unwrap();
    assert_eq!(
        shipping.spec.unwrap().target.unwrap().variant,
        Some(worker("default", "shippers"))
    );

    operator
        .delete_nexus_endpoint(os::DeleteNexusEndpointRequest {
            id: created.id.clone(),
            version: created.version,
        })
        .await
        .unwrap();
    let again = operator
        .delete_nexus_endpoint(os::DeleteNexusEndpointRequest {
            id: created.id,
            version: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    // Its name is free again.
    env.create_nexus_endpoint("inventory", "handlers").unwrap();
}
