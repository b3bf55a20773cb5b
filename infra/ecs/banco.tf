# PostgreSQL on RDS, the service's own database (ECR_DEPLOY["ECS"]["DATABASE"] = "rds", the default). The master
# password is made by an ephemeral resource and written through write-only arguments: it reaches RDS and Secrets
# Manager, never this state, a plan or an output. Bumping banco_senha_versao rotates it (docs/how-to/database.md).
# A new database and its master user are named after the service; a database made from a snapshot keeps the names
# of the instance the snapshot was taken of (provision_ecs reads them, there or from the snapshot, into banco_existente).
locals {
  banco_nome    = lookup(var.banco_existente, "nome", replace(var.nome, "-", "_"))
  banco_usuario = lookup(var.banco_existente, "usuario", replace(var.nome, "-", "_"))
}

ephemeral "aws_secretsmanager_random_password" "banco" {
  count               = var.banco_rds ? 1 : 0
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "banco" {
  #checkov:skip=CKV_AWS_149:Encrypted with the account's aws/secretsmanager key; a customer key would cost USD 1 a month and need grants for the execution role.
  #checkov:skip=CKV2_AWS_57:Rotated by bumping banco_senha_versao (docs/how-to/database.md), which writes RDS and the secret in one apply; a rotation Lambda would change it under running tasks.
  count                   = var.banco_rds ? 1 : 0
  name                    = "${var.nome}/database"
  description             = "The master user of ${var.nome}'s database ({\"username\", \"password\"}); tasks read it by ARN."
  recovery_window_in_days = 7
  tags                    = var.etiquetas
}

resource "aws_secretsmanager_secret_version" "banco" {
  count                    = var.banco_rds ? 1 : 0
  secret_id                = aws_secretsmanager_secret.banco[0].id
  secret_string_wo         = jsonencode({ username = local.banco_usuario, password = ephemeral.aws_secretsmanager_random_password.banco[0].random_password })
  secret_string_wo_version = var.banco_senha_versao
  # The ephemeral value is made once per run: the secret is written after RDS was given it, in the same run. An apply
  # that stops before the instance is made (a refused rule, a lost answer) has then written no secret, and the run
  # that makes the instance writes both with its own value; written first, the secret would keep the first run's.
  depends_on = [aws_db_instance.banco]
}

# DATABASE_URL, for settings that read the database from it (ECR_DEPLOY["ECS"]["DATABASE_VARIABLES"] "url"): the secret
# is made here, and its value put by provision_ecs through the API, from the master user's secret and the instance's
# address (never in this state). It is derived: deleted at once with the service, and put again by the next provision.
resource "aws_secretsmanager_secret" "banco_url" {
  #checkov:skip=CKV_AWS_149:Encrypted with the account's aws/secretsmanager key; a customer key would cost USD 1 a month and need grants for the execution role.
  #checkov:skip=CKV2_AWS_57:Derived from the master user's secret: provision_ecs puts it again whenever that one changes.
  count                   = var.banco_rds && var.banco_variaveis == "url" ? 1 : 0
  name                    = "${var.nome}/DATABASE_URL"
  description             = "postgres://USER:PASSWORD@HOST:PORT/NAME of ${var.nome}'s database, put by provision_ecs; tasks read it by ARN."
  recovery_window_in_days = 0
  tags                    = var.etiquetas
}

resource "aws_db_subnet_group" "banco" {
  count       = var.banco_rds ? 1 : 0
  name        = var.nome
  description = "The subnets of ${var.nome}'s database: the service's own"
  subnet_ids  = local.sub_redes
  tags        = var.etiquetas
}

resource "aws_security_group" "banco" {
  count       = var.banco_rds ? 1 : 0
  name        = "${var.nome}-banco"
  description = "The database of ${var.nome}, reached only from its tasks"
  vpc_id      = local.vpc_id
  tags        = var.etiquetas

  ingress {
    description     = "PostgreSQL from the tasks of the service only"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.servico.id]
  }
}

resource "aws_db_instance" "banco" {
  #checkov:skip=CKV_AWS_157:Multi-AZ doubles the instance's cost; backups and the final snapshot keep the data, and banco_classe can grow.
  #checkov:skip=CKV_AWS_161:The service logs in with the master user's secret; IAM authentication would need a token per connection and a role per task.
  #checkov:skip=CKV_AWS_353:Performance Insights is not offered on the default db.t4g.micro for every engine version, and is paid beyond 7 days.
  #checkov:skip=CKV_AWS_118:Enhanced monitoring needs a monitoring role and is billed as CloudWatch Logs; RDS's own metrics stay on.
  #checkov:skip=CKV_AWS_129:PostgreSQL's log export is billed as CloudWatch Logs and outlives the instance in a group Terraform does not own.
  #checkov:skip=CKV2_AWS_30:Query logging writes every statement, with its values (personal data), to the logs.
  count             = var.banco_rds ? 1 : 0
  identifier        = var.nome
  engine            = "postgres"
  engine_version    = var.banco_versao
  instance_class    = var.banco_classe
  allocated_storage = var.banco_armazenamento_gb
  storage_type      = var.banco_tipo_armazenamento
  storage_encrypted = var.banco_criptografado
  # From a snapshot (provision_ecs --from-snapshot), the name and user come from it: RDS refuses them then.
  snapshot_identifier        = var.banco_snapshot == "" ? null : var.banco_snapshot
  db_name                    = var.banco_snapshot == "" ? local.banco_nome : null
  username                   = var.banco_snapshot == "" ? local.banco_usuario : null
  password_wo                = ephemeral.aws_secretsmanager_random_password.banco[0].random_password
  password_wo_version        = var.banco_senha_versao
  db_subnet_group_name       = aws_db_subnet_group.banco[0].name
  vpc_security_group_ids     = [aws_security_group.banco[0].id]
  publicly_accessible        = false
  backup_retention_period    = var.banco_backup_dias
  auto_minor_version_upgrade = var.banco_atualizacao_menor_automatica
  # banco_versao to a new major version: RDS refuses it without this (ModifyDBInstance AllowMajorVersionUpgrade).
  allow_major_version_upgrade = true
  apply_immediately           = var.banco_aplicar_imediatamente
  deletion_protection         = var.banco_protecao_exclusao
  copy_tags_to_snapshot       = true
  # The snapshot RDS takes when the instance is destroyed, named with the date and time the instance was made
  # (Terraform must know the name before the destroy; a timestamp read at each plan would change it every run).
  final_snapshot_identifier = "${var.nome}-final-${formatdate("YYYYMMDD-hhmm", plantimestamp())}"
  tags                      = var.etiquetas

  lifecycle {
    # The snapshot an instance was made from only matters at its creation: a later value must not replace it.
    ignore_changes = [final_snapshot_identifier, snapshot_identifier]
  }
}
