//! Creates the table (with its stream), queues, bus and sender identity from `infra/template.yaml`,
//! so the local stack is built from the same definitions as the deployed one.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use std::collections::HashMap;

/// The names the local stack gives the template's resources.
#[derive(Debug, Clone)]
pub struct Names {
    pub table: String,
    pub queue: String,
    pub dead_letter_queue: String,
    pub bus: String,
    pub sender: String,
    /// The document bucket: lowercase letters, digits and hyphens, as S3 names are.
    pub bucket: String,
}

impl Names {
    /// Every name under one prefix, as the tests and the bench give each stack its own.
    pub fn under(prefix: &str, sender: String) -> Names {
        Names {
            table: prefix.to_string(),
            queue: format!("{prefix}-events"),
            dead_letter_queue: format!("{prefix}-dlq"),
            bus: format!("{prefix}-bus"),
            sender,
            bucket: bucket_name(&format!("{prefix}-documents")),
        }
    }
}

/// A name S3 takes: 3..63 of lowercase letters, digits and hyphens.
pub fn bucket_name(raw: &str) -> String {
    let name: String = raw.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let name = name.trim_matches('-');
    name[..name.len().min(63)].trim_end_matches('-').to_string()
}

pub struct Provisioned {
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub stream_arn: String,
    pub capture_queue_url: String,
}

/// The template's resources of one CloudFormation type, by logical id.
pub fn resources<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    let Some(Value::Mapping(resources)) = template.get("Resources") else { return vec![] };
    resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .filter_map(|(id, r)| Some((id.as_str()?, r.get("Properties")?)))
        .collect()
}

/// The names of the variables the template sets for the function that builds `binary` (its
/// Globals, then its own).
pub fn function_variables(template: &Value, binary: &str) -> Result<Vec<String>, String> {
    let resources = template["Resources"].as_mapping().ok_or("the template has no Resources")?;
    let resource = resources
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .ok_or_else(|| format!("no function in the template builds the binary {binary}"))?;
    let own = &resource["Properties"]["Environment"]["Variables"];
    let global = &template["Globals"]["Function"]["Environment"]["Variables"];
    let names = [global, own]
        .into_iter()
        .filter_map(Value::as_mapping)
        .flat_map(|vars| vars.keys())
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    Ok(names)
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| format!("template: {key} missing"))
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_sequence).map(Vec::as_slice).unwrap_or_default()
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, String> {
    list(v, "KeySchema")
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

pub async fn provision(sdk: &aws_config::SdkConfig, template: &Value, names: &Names) -> Result<Provisioned, String> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    create_table(&dynamodb, template, &names.table).await?;
    let stream_arn = dynamodb
        .describe_table()
        .table_name(&names.table)
        .send()
        .await
        .map_err(|e| format!("describing {}: {}", names.table, aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or("the table has no stream: the template's StreamSpecification is required")?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let (queue_url, dead_letter_queue_url) = create_queues(&sqs, template, names).await?;
    let capture_queue_url = create_bus(sdk, &sqs, template, &names.bus).await?;
    create_bucket(sdk, template, &names.bucket).await?;
    aws_sdk_ses::Client::new(sdk)
        .verify_email_identity()
        .email_address(&names.sender)
        .send()
        .await
        .map_err(|e| format!("verifying {}: {}", names.sender, aws_sdk_ses::error::DisplayErrorContext(&e)))?;
    Ok(Provisioned { queue_url, dead_letter_queue_url, stream_arn, capture_queue_url })
}

/// Every local S3 client's configuration: path-style, as the emulator's one endpoint needs (in
/// AWS, the SDK's virtual-hosted default).
pub fn s3_config(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::from(sdk).force_path_style(true)
}

/// The template's document bucket: versioned, its public access blocked, encrypted, and its
/// lifecycle rules, as the template gives them. (The emulator keeps the rules without acting on
/// them; its bucket policy, TLS only, would refuse the local endpoint's plain HTTP, so it is the
/// one part not played.)
async fn create_bucket(sdk: &aws_config::SdkConfig, template: &Value, name: &str) -> Result<(), String> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, BucketVersioningStatus, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
        NoncurrentVersionExpiration, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
    };
    let (_, bucket) = resources(template, "AWS::S3::Bucket").into_iter().next().ok_or("the template has no document bucket")?;
    let s3 = aws_sdk_s3::Client::from_conf(s3_config(sdk).build());
    fn fail<E: std::error::Error + 'static, R: std::fmt::Debug>(
        what: &'static str,
    ) -> impl Fn(aws_sdk_s3::error::SdkError<E, R>) -> String {
        move |e| format!("{what} the document bucket: {}", aws_sdk_s3::error::DisplayErrorContext(&e))
    }
    s3.create_bucket().bucket(name).send().await.map_err(fail("creating"))?;
    if bucket["VersioningConfiguration"]["Status"].as_str() == Some("Enabled") {
        let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning().bucket(name).versioning_configuration(versioning).send().await.map_err(fail("versioning"))?;
    }
    let block = &bucket["PublicAccessBlockConfiguration"];
    let flag = |k: &str| block[k].as_bool().unwrap_or(false);
    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(flag("BlockPublicAcls"))
        .block_public_policy(flag("BlockPublicPolicy"))
        .ignore_public_acls(flag("IgnorePublicAcls"))
        .restrict_public_buckets(flag("RestrictPublicBuckets"))
        .build();
    s3.put_public_access_block().bucket(name).public_access_block_configuration(block).send().await.map_err(fail("blocking"))?;
    let sse = ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256).build().map_err(|e| e.to_string())?;
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(sse).build())
        .build()
        .map_err(|e| e.to_string())?;
    s3.put_bucket_encryption().bucket(name).server_side_encryption_configuration(encryption).send().await.map_err(fail("encrypting"))?;
    let mut rules = Vec::new();
    for rule in list(&bucket["LifecycleConfiguration"], "Rules") {
        let mut expiration = LifecycleExpiration::builder();
        if let Some(days) = rule["ExpirationInDays"].as_i64() {
            expiration = expiration.days(days as i32);
        }
        if let Some(marker) = rule["ExpiredObjectDeleteMarker"].as_bool() {
            expiration = expiration.expired_object_delete_marker(marker);
        }
        let mut built = LifecycleRule::builder()
            .id(text(rule, "Id")?)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(text(rule, "Prefix")?).build())
            .expiration(expiration.build());
        if let Some(days) = rule["NoncurrentVersionExpiration"]["NoncurrentDays"].as_i64() {
            built = built.noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(days as i32).build());
        }
        rules.push(built.build().map_err(|e| e.to_string())?);
    }
    let lifecycle = BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build().map_err(|e| e.to_string())?;
    s3.put_bucket_lifecycle_configuration().bucket(name).lifecycle_configuration(lifecycle).send().await.map_err(fail("lifecycle of"))?;
    Ok(())
}

/// The template's bus, and the local capture rule and queue `GET /_local/events` reads.
async fn create_bus(sdk: &aws_config::SdkConfig, sqs: &aws_sdk_sqs::Client, template: &Value, bus: &str) -> Result<String, String> {
    if resources(template, "AWS::Events::EventBus").len() != 1 {
        return Err("template: expected exactly one event bus".into());
    }
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let failed = |what: &str, e: &dyn std::fmt::Display| format!("{what} on bus {bus}: {e}");
    let created = events.create_event_bus().name(bus).send().await;
    if let Err(e) = created {
        if !e.as_service_error().is_some_and(|s| s.is_resource_already_exists_exception()) {
            return Err(failed("creating", &aws_sdk_eventbridge::error::DisplayErrorContext(&e)));
        }
    }
    let rule = crate::bus::capture_name(bus);
    let queue = rule.clone();
    let url = create_queue(sqs, &queue, &Value::Null, HashMap::new()).await?;
    let arn = queue_arn(sqs, &url).await?;
    let pattern = serde_json::json!({"source": [cppo_domain::marketplace::SOURCE]}).to_string();
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .map_err(|e| failed("the capture rule", &aws_sdk_eventbridge::error::DisplayErrorContext(&e)))?;
    let target = aws_sdk_eventbridge::types::Target::builder().id("capture").arn(arn).build().map_err(|e| e.to_string())?;
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| failed("the capture target", &aws_sdk_eventbridge::error::DisplayErrorContext(&e)))?;
    Ok(url)
}

async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("reading {url}'s ARN: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| format!("{url} has no ARN"))
}

async fn create_table(client: &aws_sdk_dynamodb::Client, template: &Value, name: &str) -> Result<(), String> {
    let [(_, table)] = resources(template, "AWS::DynamoDB::Table")[..] else { return Err("template: expected exactly one table".into()) };
    let attributes = list(table, "AttributeDefinitions")
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let indexes = list(table, "GlobalSecondaryIndexes")
        .iter()
        .map(|g| {
            let projection = g.get("Projection").map(|p| text(p, "ProjectionType")).transpose()?.unwrap_or("ALL");
            GlobalSecondaryIndex::builder()
                .index_name(text(g, "IndexName")?)
                .set_key_schema(Some(key_schema(g)?))
                .projection(Projection::builder().projection_type(ProjectionType::from(projection)).build())
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let stream = table
        .get("StreamSpecification")
        .map(|spec| {
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(text(spec, "StreamViewType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .transpose()?;
    let created = client
        .create_table()
        .table_name(name)
        .set_stream_specification(stream)
        .billing_mode(BillingMode::from(text(table, "BillingMode").unwrap_or("PAY_PER_REQUEST")))
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(table)?))
        .set_global_secondary_indexes(Some(indexes))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(format!("creating table {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))),
    }
    if let Some(ttl) = table.get("TimeToLiveSpecification") {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(text(ttl, "AttributeName")?)
            .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(true))
            .build()
            .map_err(|e| e.to_string())?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| format!("setting TTL on {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    }
    Ok(())
}

async fn create_queues(client: &aws_sdk_sqs::Client, template: &Value, names: &Names) -> Result<(String, String), String> {
    let queues: HashMap<&str, &Value> = resources(template, "AWS::SQS::Queue").into_iter().collect();
    let (queue, dlq) = match (queues.get("EventQueue"), queues.get("EventDeadLetterQueue")) {
        (Some(q), Some(d)) => (*q, *d),
        _ => return Err("template: EventQueue and EventDeadLetterQueue are required".into()),
    };
    let dlq_url = create_queue(client, &names.dead_letter_queue, dlq, HashMap::new()).await?;
    let dlq_arn = queue_arn(client, &dlq_url).await?;
    let max_receives = queue
        .get("RedrivePolicy")
        .and_then(|r| r.get("maxReceiveCount"))
        .and_then(Value::as_u64)
        .ok_or("template: EventQueue needs RedrivePolicy.maxReceiveCount")?;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string();
    let url = create_queue(client, &names.queue, queue, HashMap::from([(QueueAttributeName::RedrivePolicy, redrive)])).await?;
    Ok((url, dlq_url))
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    properties: &Value,
    mut attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, String> {
    for (key, attribute) in [
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
    ] {
        if let Some(v) = properties.get(key).and_then(Value::as_u64) {
            attributes.insert(attribute, v.to_string());
        }
    }
    let out = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| format!("creating queue {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
    out.queue_url.ok_or_else(|| format!("queue {name} has no URL"))
}
